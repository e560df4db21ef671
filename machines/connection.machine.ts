/**
 * One logical client connection — a session — from socket open to its end.
 *
 * The actor sees lifecycle only (hello, transport lost, resumed, expired), never
 * traffic: at ~44K events/s per actor re-entering timed states, per-message events
 * would cap the gateway (ARCHITECTURE.md, measured traps). Heartbeats are uWS's own.
 *
 * Pure: effects are named stubs here, provided by src/supervisor/connection-actor.ts.
 * The file opens as-is in the Stately visualizer.
 */
import { assign, setup } from 'xstate';

export interface ConnectionInput {
  connectionId: string;
  correlationId: string;
  /** ms allowed between socket open and an accepted hello. */
  handshakeTimeoutMs: number;
  /** ms a dropped session stays resumable. */
  resumeWindowMs: number;
  /** ms a connection may wait in the admission queue. */
  admissionTimeoutMs: number;
}

export interface ConnectionContext extends ConnectionInput {
  sessionId?: string;
  userId?: string;
  /** Error code that ended the session in `failed`. */
  failure?: string;
  /** Why the session ended in `closed`. */
  closeReason?: string;
  /** Times a new transport re-attached to this session in this process. */
  reconnections: number;
  /** Close code of the last lost transport. */
  lastCloseCode?: number;
}

export type ConnectionEvent =
  | { type: 'admission.queued'; position: number }
  | { type: 'admission.granted' }
  | { type: 'hello.accepted'; sessionId: string; userId: string; resumed: boolean; correlationId: string }
  | { type: 'hello.rejected'; code: string }
  | { type: 'transport.lost'; closeCode: number }
  | { type: 'transport.ended'; reason: string }
  | { type: 'transport.attached'; connectionId: string; correlationId: string }
  | { type: 'session.taken' }
  | { type: 'policy.violated'; code: string };

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  delays: {
    handshakeTimeout: ({ context }) => context.handshakeTimeoutMs,
    resumeWindow: ({ context }) => context.resumeWindowMs,
    admissionTimeout: ({ context }) => context.admissionTimeoutMs,
  },
  actions: {
    /** Close the socket with the registry entry for `code`. */
    closeTransport: (_, _params: { code: string }) => {},
    /** Session hash: live, owned by this connection, TTL held by the lease. */
    markSessionLive: () => {},
    /** Session hash: resumable, TTL = resume window. */
    markSessionResumable: () => {},
    /** Remove the session's Redis state (only if this connection still owns it). */
    deleteSession: () => {},
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ ...input, reconnections: 0 }),
  initial: 'connecting',
  states: {
    connecting: {
      initial: 'handshaking',
      states: {
        handshaking: {
          after: {
            handshakeTimeout: {
              target: '#connection.failed',
              actions: [
                assign({ failure: 'HANDSHAKE_TIMEOUT' }),
                { type: 'closeTransport', params: { code: 'HANDSHAKE_TIMEOUT' } },
              ],
            },
          },
          on: { 'admission.queued': 'queued' },
        },
        /** Authenticated, waiting for a slot in priority order (the pool is saturated). */
        queued: {
          after: {
            admissionTimeout: {
              target: '#connection.failed',
              actions: [
                assign({ failure: 'ADMISSION_TIMEOUT' }),
                { type: 'closeTransport', params: { code: 'ADMISSION_TIMEOUT' } },
              ],
            },
          },
          on: { 'admission.granted': 'handshaking' },
        },
      },
      on: {
        'hello.accepted': {
          target: 'connected',
          actions: assign({
            sessionId: ({ event }) => event.sessionId,
            userId: ({ event }) => event.userId,
            // hello may bring the session's correlation ID (resume) or the client's own.
            correlationId: ({ event }) => event.correlationId,
          }),
        },
        'hello.rejected': {
          target: 'failed',
          actions: [
            assign({ failure: ({ event }) => event.code }),
            { type: 'closeTransport', params: ({ event }) => ({ code: event.code }) },
          ],
        },
        'transport.lost': { target: 'closed', actions: assign({ closeReason: 'left before hello' }) },
        'transport.ended': { target: 'closed', actions: assign({ closeReason: 'left before hello' }) },
        'policy.violated': {
          target: 'failed',
          actions: [
            assign({ failure: ({ event }) => event.code }),
            { type: 'closeTransport', params: ({ event }) => ({ code: event.code }) },
          ],
        },
      },
    },
    connected: {
      entry: 'markSessionLive',
      on: {
        'transport.lost': {
          target: 'reconnecting',
          actions: assign({ lastCloseCode: ({ event }) => event.closeCode }),
        },
        'transport.ended': {
          target: 'closed',
          actions: [assign({ closeReason: ({ event }) => event.reason }), 'deleteSession'],
        },
        'session.taken': {
          target: 'closed',
          actions: assign({ closeReason: 'resumed on another connection' }),
        },
        // The gateway closed the socket for a broken rule (e.g. MESSAGE_TOO_LARGE, whose
        // recovery is "reconnect to resume"): the socket is gone, the session stays resumable.
        'policy.violated': 'reconnecting',
      },
    },
    reconnecting: {
      entry: 'markSessionResumable',
      after: {
        resumeWindow: {
          target: 'failed',
          actions: [assign({ failure: 'RESUME_EXPIRED' }), 'deleteSession'],
        },
      },
      on: {
        'transport.attached': {
          target: 'connected',
          actions: assign({
            connectionId: ({ event }) => event.connectionId,
            correlationId: ({ event }) => event.correlationId,
            reconnections: ({ context }) => context.reconnections + 1,
          }),
        },
        'session.taken': {
          target: 'closed',
          actions: assign({ closeReason: 'resumed on another gateway process' }),
        },
      },
    },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});
