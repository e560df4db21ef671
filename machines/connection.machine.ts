/**
 * One logical client connection — a session — from socket open to its end. This
 * chart is the program: every lifecycle decision is a transition here, and the effects
 * are named actions provided by src/core/connection-runtime.ts.
 *
 * The two async handshake steps (`authenticate`, `attachSession`) are entry actions that
 * answer with events (`authenticate.done` / `.failed`, `attach.done` / `.failed`), not
 * invoked promise actors: an invoke creates, starts and stops a child actor per step, and
 * with two per connection that was ~45% of the actor's CPU per handshake (in-process,
 * steps resolving at once: ~170 µs per handshake with the invokes, ~95 µs without). The
 * runtime delivers an answer only while the actor still waits in that step's state, so a
 * late one (the socket closed, the handshake timed out) is dropped, as a stopped invoke's was.
 *
 * - connecting.handshake: the socket is open; hello, then the token check
 *   (`authenticate`), the pool's decision (`admitting`), then the session is created
 *   or resumed and `welcome` sent (`attaching`). One budget, `handshakeTimeout`,
 *   covers the whole region; it ends in HANDSHAKE_TIMEOUT if no hello came, and in
 *   SERVER_TIMEOUT if the hello came and the gateway's own steps ran out the time.
 * - connecting.queued: the pool is saturated; wait in the priority line until
 *   `admissionTimeout`, or until the pool dismisses the line (Redis gone: refused with
 *   STORE_UNAVAILABLE). A grant re-enters the handshake at `attaching` with a fresh
 *   budget for that last step (the wait in line is not the client's delay).
 * - connected: welcome sent, events flow. The token's expiry (unless a refresh came
 *   first), a takeover by another process, and the backend's orders (a disconnect, a
 *   blocked user, revoked tokens: src/control/) close the transport from here.
 * - reconnecting: the transport is gone; the session stays resumable for
 *   `resumeWindow`, then it is deleted.
 * - handedOver: the socket resumed a session whose own actor waits in this process;
 *   the transport went to that actor, and this one's job is done.
 *
 * The actor sees lifecycle only, never traffic: at ~44K events/s per actor
 * re-entering timed states, per-message events would cap the gateway (docs/architecture.md).
 * `frame.rejected` is the exception that proves it: it counts toward a budget that
 * closes the socket after MAX_ERRORS_PER_MINUTE, so it is bounded per socket.
 *
 * Pure: effects and steps are named stubs; the file opens as-is in the Stately visualizer.
 */
import { assign, not, setup, stateIn } from 'xstate';

export interface ConnectionInput {
  connectionId: string;
  correlationId: string;
}

/**
 * The process's settings the timers and the error budget follow. The same for every
 * connection, so they are provided once with the machine (`withSettings`), not kept in
 * every actor's context (4 numbers, ~55 bytes per actor).
 */
export interface ConnectionSettings {
  /** ms allowed from socket open to `welcome` (the wait in the admission line aside). */
  handshakeTimeoutMs: number;
  /** ms a dropped session stays resumable. */
  resumeWindowMs: number;
  /** ms a connection may wait in the admission line. */
  admissionTimeoutMs: number;
  /** Rejected frames allowed in a minute; one more closes with TOO_MANY_ERRORS. */
  maxErrorsPerMinute: number;
}

/** The settings' defaults (src/config/config-schema.ts): the pure machine runs with these. */
export const DEFAULT_SETTINGS: ConnectionSettings = {
  handshakeTimeoutMs: 10_000,
  resumeWindowMs: 120_000,
  admissionTimeoutMs: 30_000,
  maxErrorsPerMinute: 20,
};

export interface ConnectionContext extends ConnectionInput {
  sessionId?: string;
  userId?: string;
  /** The token's tier and the admission priority it gives (1 = first). */
  tier?: string;
  priority?: number;
  /** When the current token expires, ms since the epoch; undefined: it does not. */
  tokenExpiresAt?: number;
  /** When the current token was issued (`iat`), ms since the epoch; undefined: it does not say. */
  tokenIssuedAt?: number;
  /** Error code that ended the session in `failed`. */
  failure?: string;
  /** Why the session ended in `closed`. */
  closeReason?: string;
  /** true when the attach resumed an existing session, false when it started one. */
  resumed?: boolean;
  /** The process the session was resumed on when it moved away (`session.taken`): it did not end. */
  takenBy?: string;
  /** Times a new transport re-attached to this session in this process. */
  reconnections: number;
  /** Close code of the last lost transport. */
  lastCloseCode?: number;
  /** The registry code the gateway closed the last lost transport with (shed, drain, slow consumer…); none: the network or the client. */
  lastCloseReason?: string;
  /** Rejected frames counted since `errorsSince` (ms since the epoch). */
  errors: number;
  errorsSince: number;
}

/** What a failed step or a refusal closes the transport with. */
export interface Refusal {
  code: string;
  detail?: string;
  retryAfterMs?: number;
}

export interface Authenticated {
  userId: string;
  tier: string;
  priority: number;
  tokenExpiresAt?: number;
  tokenIssuedAt?: number;
}

export interface Attached {
  sessionId: string;
  userId: string;
  /** The session's correlation ID (a resumed one keeps its own). */
  correlationId: string;
  /** The session's own actor waits in this process: the transport goes to it. */
  handedOver: boolean;
  /** An existing session was resumed (not started). */
  resumed: boolean;
}

export type ConnectionEvent =
  | { type: 'hello.received' }
  | { type: 'admission.granted' }
  | { type: 'admission.queued' }
  | { type: 'admission.refused'; code: string }
  | {
      type: 'transport.closed';
      connectionId: string;
      closeCode: number;
      /** The registry code the gateway closed with, `bye` when the client said so, else undefined. */
      reason?: string;
    }
  | {
      type: 'transport.attached';
      connectionId: string;
      correlationId: string;
      tokenExpiresAt?: number;
      tokenIssuedAt?: number;
    }
  | { type: 'session.taken'; byNode: string }
  | { type: 'token.refreshed'; tokenExpiresAt?: number; tokenIssuedAt?: number }
  /** The backend ordered this session disconnected: resumable (the client resumes) or not (it ends). */
  | { type: 'server.disconnect'; resumable: boolean; reason?: string }
  /** The backend blocked the session's user: it ends, and no hello of that user is accepted. */
  | { type: 'user.blocked'; reason?: string }
  /** The backend revoked the user's tokens issued before `before` (ms since the epoch). */
  | { type: 'tokens.revoked'; before: number }
  | { type: 'frame.rejected'; code: string; at: number }
  /** The handshake steps' answers (src/core/connection-runtime.ts sends them only to an actor still waiting). */
  | { type: 'authenticate.done'; output: Authenticated }
  | { type: 'authenticate.failed'; error: unknown }
  | { type: 'attach.done'; output: Attached }
  | { type: 'attach.failed'; error: unknown };

const ERROR_WINDOW_MS = 60_000;
/** setTimeout's largest delay: a later expiry is checked again on resume. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/**
 * Node's timers count from the event loop's cached clock, so on a busy loop one can fire
 * before the wall clock reaches the token's expiry: `tokenHasExpired` would then say no and
 * nothing would look again. Checking this much later leaves room for a long loop turn.
 */
export const EXPIRY_CHECK_LATE_MS = 1000;

/** The code and hints a failed step's error carries (a TetherError), else INTERNAL. */
export function refusalOf(error: unknown): Refusal {
  const { code, detail, retryAfterMs } = (error ?? {}) as Partial<Refusal>;
  return typeof code === 'string' ? { code, detail, retryAfterMs } : { code: 'INTERNAL' };
}

/** The delays and the error budget for `settings`, to give `connectionMachine.provide()`. */
export function withSettings(settings: ConnectionSettings) {
  return {
    delays: {
      handshakeTimeout: settings.handshakeTimeoutMs,
      resumeWindow: settings.resumeWindowMs,
      admissionTimeout: settings.admissionTimeoutMs,
    },
    guards: {
      errorBudgetSpent: ({ context, event }: { context: ConnectionContext; event: ConnectionEvent }) =>
        event.type === 'frame.rejected' &&
        event.at - context.errorsSince <= ERROR_WINDOW_MS &&
        context.errors + 1 > settings.maxErrorsPerMinute,
    },
  };
}

const defaults = withSettings(DEFAULT_SETTINGS);

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
  },
  delays: {
    ...defaults.delays,
    tokenLifetime: ({ context }) =>
      context.tokenExpiresAt === undefined
        ? MAX_DELAY_MS
        : Math.min(Math.max(0, context.tokenExpiresAt - Date.now()) + EXPIRY_CHECK_LATE_MS, MAX_DELAY_MS),
  },
  guards: {
    isCurrentTransport: ({ context, event }) =>
      event.type === 'transport.closed' && event.connectionId === context.connectionId,
    clientSaidBye: ({ event }) => event.type === 'transport.closed' && event.reason === 'bye',
    closedForARule: ({ event }) =>
      event.type === 'transport.closed' && event.reason !== undefined && event.reason !== 'bye',
    tokenHasExpired: ({ context }) =>
      context.tokenExpiresAt !== undefined && context.tokenExpiresAt <= Date.now(),
    errorBudgetSpent: defaults.guards.errorBudgetSpent,
    handedOver: ({ event }) => event.type === 'attach.done' && event.output.handedOver,
    /** The handshake budget ran out before the client's hello: the client's delay, not ours. */
    helloNotReceived: stateIn({ connecting: { handshake: 'awaitingHello' } }),
    disconnectIsFinal: ({ event }) => event.type === 'server.disconnect' && !event.resumable,
    /** A token without `iat` cannot show it was issued after: it counts as revoked. */
    tokenIssuedBefore: ({ context, event }) =>
      event.type === 'tokens.revoked' &&
      (context.tokenIssuedAt === undefined || context.tokenIssuedAt < event.before),
  },
  actions: {
    /** Close the transport bound to the actor with the registry entry for `code`. */
    closeTransport: (_, _params: Refusal) => {},
    /** Close an earlier transport of this session that is still open (half-open: the client moved on). */
    retireTransport: (_, _params: { connectionId: string }) => {},
    /** Ask the pool for a slot; it answers with admission.granted, .queued or .refused. */
    requestAdmission: () => {},
    /** Welcome was sent: run the frames held behind hello, then replay the session's channels. */
    startDelivery: () => {},
    /** Give the transport to the session's own actor (it is attached there). */
    handOverTransport: () => {},
    /** Session hash: resumable, TTL = resume window. */
    markSessionResumable: () => {},
    /** Remove the session's Redis state (only if this connection still owns it). */
    deleteSession: () => {},
    /** Count a rejected frame on the session hash (error_count). */
    recordError: () => {},
    /** Limits, token verification, per-user limits; answers with authenticate.done or .failed (a coded error). */
    authenticate: () => {},
    /** Create or resume the session, plan its channels' replay, send welcome; answers with attach.done or .failed. */
    attachSession: () => {},
    countError: assign(({ context, event }) => {
      const at = (event as { at: number }).at;
      return at - context.errorsSince > ERROR_WINDOW_MS
        ? { errors: 1, errorsSince: at }
        : { errors: context.errors + 1 };
    }),
    fail: assign({ failure: (_, params: { code: string }) => params.code }),
    /** A newer transport resumed the session: bind to it, and to its token. */
    takeTransport: assign(({ context, event }) => {
      const attached = event as Extract<ConnectionEvent, { type: 'transport.attached' }>;
      return {
        connectionId: attached.connectionId,
        correlationId: attached.correlationId,
        tokenExpiresAt: attached.tokenExpiresAt,
        tokenIssuedAt: attached.tokenIssuedAt,
        reconnections: context.reconnections + 1,
      };
    }),
    recordSession: assign(({ event }) => {
      const { sessionId, userId, correlationId, resumed } = (
        event as Extract<ConnectionEvent, { type: 'attach.done' }>
      ).output;
      return { sessionId, userId, correlationId, resumed };
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ ...input, reconnections: 0, errors: 0, errorsSince: 0 }),
  initial: 'connecting',
  on: {
    'frame.rejected': [
      {
        guard: 'errorBudgetSpent',
        actions: [
          'countError',
          'recordError',
          { type: 'closeTransport', params: { code: 'TOO_MANY_ERRORS' } },
        ],
      },
      { actions: ['countError', 'recordError'] },
    ],
  },
  states: {
    connecting: {
      initial: 'handshake',
      on: {
        // The pool's refusal, one way wherever it finds the connection: at once (handshake.admitting:
        // saturated with no room in line, draining) or from the line (queued: Redis is gone,
        // STORE_UNAVAILABLE, told at once rather than left waiting through the outage).
        'admission.refused': {
          target: 'failed',
          actions: [
            { type: 'fail', params: ({ event }) => ({ code: event.code }) },
            { type: 'closeTransport', params: ({ event }) => ({ code: event.code }) },
          ],
        },
        'transport.closed': [
          {
            guard: 'closedForARule',
            target: 'failed',
            actions: { type: 'fail', params: ({ event }) => ({ code: event.reason as string }) },
          },
          { target: 'closed', actions: assign({ closeReason: 'left before hello' }) },
        ],
        // The backend's orders reach a handshake once its user is known (src/control/): it has
        // no session to keep yet, so each refuses it the way a check at hello would have. A
        // resumable disconnect is told so (4010, retryable): the session it may be resuming is kept.
        'server.disconnect': [
          {
            guard: 'disconnectIsFinal',
            target: 'failed',
            actions: [
              { type: 'fail', params: { code: 'SESSION_CLOSED_BY_SERVER' } },
              {
                type: 'closeTransport',
                params: ({ event }) => ({ code: 'SESSION_CLOSED_BY_SERVER', detail: event.reason }),
              },
            ],
          },
          {
            target: 'failed',
            actions: [
              { type: 'fail', params: { code: 'DISCONNECTED_BY_SERVER' } },
              {
                type: 'closeTransport',
                params: ({ event }) => ({ code: 'DISCONNECTED_BY_SERVER', detail: event.reason }),
              },
            ],
          },
        ],
        'user.blocked': {
          target: 'failed',
          actions: [
            { type: 'fail', params: { code: 'USER_BLOCKED' } },
            {
              type: 'closeTransport',
              params: ({ event }) => ({ code: 'USER_BLOCKED', detail: event.reason }),
            },
          ],
        },
        'tokens.revoked': {
          guard: 'tokenIssuedBefore',
          target: 'failed',
          actions: [
            { type: 'fail', params: { code: 'AUTH_TOKEN_REVOKED' } },
            { type: 'closeTransport', params: { code: 'AUTH_TOKEN_REVOKED' } },
          ],
        },
      },
      states: {
        handshake: {
          initial: 'awaitingHello',
          after: {
            // Who ran out the budget decides the code: a client that never sent hello
            // (HANDSHAKE_TIMEOUT, 4003), or this gateway, whose token check, admission
            // or session step did not finish in time — overloaded or its store slow
            // (SERVER_TIMEOUT, 1013: try again later).
            handshakeTimeout: [
              {
                guard: 'helloNotReceived',
                target: '#connection.failed',
                actions: [
                  { type: 'fail', params: { code: 'HANDSHAKE_TIMEOUT' } },
                  { type: 'closeTransport', params: { code: 'HANDSHAKE_TIMEOUT' } },
                ],
              },
              {
                target: '#connection.failed',
                actions: [
                  { type: 'fail', params: { code: 'SERVER_TIMEOUT' } },
                  { type: 'closeTransport', params: { code: 'SERVER_TIMEOUT' } },
                ],
              },
            ],
          },
          states: {
            awaitingHello: {
              on: { 'hello.received': 'authenticating' },
            },
            authenticating: {
              entry: 'authenticate',
              on: {
                'authenticate.done': {
                  target: 'admitting',
                  actions: assign(({ event }) => ({
                    userId: event.output.userId,
                    tier: event.output.tier,
                    priority: event.output.priority,
                    tokenExpiresAt: event.output.tokenExpiresAt,
                    tokenIssuedAt: event.output.tokenIssuedAt,
                  })),
                },
                'authenticate.failed': {
                  target: '#connection.failed',
                  actions: [
                    { type: 'fail', params: ({ event }) => refusalOf(event.error) },
                    { type: 'closeTransport', params: ({ event }) => refusalOf(event.error) },
                  ],
                },
              },
            },
            admitting: {
              entry: 'requestAdmission',
              on: {
                'admission.granted': 'attaching',
                'admission.queued': '#connection.connecting.queued',
              },
            },
            attaching: {
              entry: 'attachSession',
              on: {
                'attach.done': [
                  {
                    guard: 'handedOver',
                    target: '#connection.handedOver',
                    actions: ['recordSession', 'handOverTransport'],
                  },
                  { target: '#connection.connected', actions: 'recordSession' },
                ],
                'attach.failed': {
                  target: '#connection.failed',
                  actions: [
                    { type: 'fail', params: ({ event }) => refusalOf(event.error) },
                    { type: 'closeTransport', params: ({ event }) => refusalOf(event.error) },
                  ],
                },
              },
            },
          },
        },
        /** Authenticated, waiting for a slot in priority order (the pool is saturated). */
        queued: {
          after: {
            admissionTimeout: {
              target: '#connection.failed',
              actions: [
                { type: 'fail', params: { code: 'ADMISSION_TIMEOUT' } },
                { type: 'closeTransport', params: { code: 'ADMISSION_TIMEOUT' } },
              ],
            },
          },
          on: {
            'admission.granted': 'handshake.attaching',
          },
        },
      },
    },
    connected: {
      // The attach step already wrote the session live and owned by this transport (create or
      // take-over, one script each), so entering `connected` writes nothing more to Redis.
      entry: 'startDelivery',
      after: {
        tokenLifetime: {
          guard: 'tokenHasExpired',
          actions: { type: 'closeTransport', params: { code: 'AUTH_TOKEN_EXPIRED' } },
        },
      },
      on: {
        'transport.closed': [
          // A retired transport's late close: the session already moved on.
          { guard: not('isCurrentTransport') },
          {
            guard: 'clientSaidBye',
            target: 'closed',
            actions: [assign({ closeReason: 'client said bye' }), 'deleteSession'],
          },
          // Anything else (network, a broken rule, shed, drain, slow consumer): resumable.
          {
            target: 'reconnecting',
            actions: assign({
              lastCloseCode: ({ event }) => event.closeCode,
              lastCloseReason: ({ event }) => event.reason,
            }),
          },
        ],
        // A newer socket resumed this session while the old one still looks open.
        'transport.attached': {
          target: 'connected',
          reenter: true,
          actions: [
            { type: 'retireTransport', params: ({ context }) => ({ connectionId: context.connectionId }) },
            'takeTransport',
          ],
        },
        // A fresh token (a `refresh` frame, verified like hello's): the expiry timer starts again.
        'token.refreshed': {
          target: 'connected',
          reenter: true,
          actions: assign(({ event }) => ({
            tokenExpiresAt: event.tokenExpiresAt,
            tokenIssuedAt: event.tokenIssuedAt,
          })),
        },
        // The backend's orders (src/control/). A resumable disconnect only closes the transport:
        // its close then moves the session to `reconnecting` like any other.
        'server.disconnect': [
          {
            guard: 'disconnectIsFinal',
            target: 'closed',
            actions: [
              assign({
                closeReason: ({ event }) => `ended by the server${event.reason ? `: ${event.reason}` : ''}`,
              }),
              {
                type: 'closeTransport',
                params: ({ event }) => ({ code: 'SESSION_CLOSED_BY_SERVER', detail: event.reason }),
              },
              'deleteSession',
            ],
          },
          {
            actions: {
              type: 'closeTransport',
              params: ({ event }) => ({ code: 'DISCONNECTED_BY_SERVER', detail: event.reason }),
            },
          },
        ],
        'user.blocked': {
          target: 'failed',
          actions: [
            { type: 'fail', params: { code: 'USER_BLOCKED' } },
            {
              type: 'closeTransport',
              params: ({ event }) => ({ code: 'USER_BLOCKED', detail: event.reason }),
            },
            'deleteSession',
          ],
        },
        // Resumable: the client comes back with a token issued after `before`.
        'tokens.revoked': {
          guard: 'tokenIssuedBefore',
          actions: { type: 'closeTransport', params: { code: 'AUTH_TOKEN_REVOKED' } },
        },
        'session.taken': {
          target: 'closed',
          actions: [
            assign({
              closeReason: ({ event }) => `resumed on ${event.byNode}`,
              takenBy: ({ event }) => event.byNode,
            }),
            {
              type: 'closeTransport',
              params: ({ event }) => ({
                code: 'SERVICE_RESTART',
                detail: `session resumed on ${event.byNode}`,
              }),
            },
          ],
        },
      },
    },
    reconnecting: {
      entry: 'markSessionResumable',
      after: {
        resumeWindow: {
          target: 'failed',
          actions: [{ type: 'fail', params: { code: 'RESUME_EXPIRED' } }, 'deleteSession'],
        },
      },
      on: {
        'transport.attached': { target: 'connected', actions: 'takeTransport' },
        'session.taken': {
          target: 'closed',
          actions: assign({
            closeReason: ({ event }) => `resumed on ${event.byNode}`,
            takenBy: ({ event }) => event.byNode,
          }),
        },
        // No transport to close; a resume must bring a token issued after a revocation anyway.
        'server.disconnect': {
          guard: 'disconnectIsFinal',
          target: 'closed',
          actions: [
            assign({
              closeReason: ({ event }) => `ended by the server${event.reason ? `: ${event.reason}` : ''}`,
            }),
            'deleteSession',
          ],
        },
        'user.blocked': {
          target: 'failed',
          actions: [{ type: 'fail', params: { code: 'USER_BLOCKED' } }, 'deleteSession'],
        },
      },
    },
    handedOver: { type: 'final' },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});
