/**
 * The client SDK's connection — the twin of machines/connection.machine.ts, seen
 * from the other end of the socket.
 *
 * - idle: nothing opened yet.
 * - connecting: socket opening, `hello` sent, waiting for `welcome` (bounded by the
 *   connect timeout); `queued` while the gateway holds us in its admission queue.
 * - connected: `welcome` received; events flow; an app-level ping probes for
 *   half-open sockets (`live` ⇄ `probing`).
 * - reconnecting: waiting out a full-jitter backoff (never less than the server's
 *   `retryAfterMs`); `offline` while the browser says there is no network.
 * - failed: a non-retryable error, or the attempts ran out. `client.connect` starts over.
 * - closed: the application called `disconnect()`.
 *
 * Every failure goes through `lost`, which decides retry or give up in one place.
 *
 * Pure: effects are named stubs, provided by packages/client/src/tether-client.ts. The file
 * opens as-is in the Stately visualizer.
 */
import { and, assign, setup } from 'xstate';
import { AT_LEAST_JITTER, BACKOFF_DEFAULTS, backoffDelay, jitteredAtLeast } from '../src/shared/backoff.ts';

/** What the machine needs to know about a failure; the runtime keeps the full error. */
export interface ClientFailure {
  /** A registry code (src/shared/errors.ts) or a client-side one (packages/client/src/client-errors.ts). */
  code: string;
  retryable: boolean;
  /** Do not come back sooner than this, ms: the server's hint, or the registry's typical wait. */
  retryAfterMs?: number;
  /**
   * true: the gateway sent `retryAfterMs` (it already spread its clients), so it is honoured as
   * is and nothing cuts it short. Otherwise it is the registry's default for the code, jittered
   * here so a crowd closed by the same bare close code does not come back in the same ms.
   */
  retryAfterFromServer?: boolean;
}

export interface ClientMachineInput {
  /** Reconnect attempts after a loss before `failed`; `Infinity` never gives up. @defaultValue 10 */
  maxAttempts?: number;
  /** First backoff window, ms. @defaultValue 500 */
  backoffBaseMs?: number;
  /** Largest backoff window, ms. @defaultValue 30000 */
  backoffMaxMs?: number;
  /** From opening the socket to `welcome`, ms. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /** Longest wait between two `queued` frames in the admission queue, ms. @defaultValue 60000 */
  queueTimeoutMs?: number;
  /**
   * Period of the heartbeat while connected, ms: a ping goes out this long after the last pong
   * (or after `welcome`), whatever other traffic flows. @defaultValue 20000
   */
  pingIntervalMs?: number;
  /** Time a ping has to be answered before the socket counts as dead, ms. @defaultValue 10000 */
  pongTimeoutMs?: number;
  /** Randomness for the jitter, in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

/**
 * The input's defaults — the reliability seeds' values — and so the SDK's option
 * defaults (packages/client/src/client-options.ts); the backoff window comes from the shared
 * backoff module.
 */
export const CLIENT_MACHINE_DEFAULTS = {
  maxAttempts: 10,
  backoffBaseMs: BACKOFF_DEFAULTS.baseMs,
  backoffMaxMs: BACKOFF_DEFAULTS.maxMs,
  connectTimeoutMs: 10_000,
  queueTimeoutMs: 60_000,
  pingIntervalMs: 20_000,
  pongTimeoutMs: 10_000,
} as const satisfies Required<Omit<ClientMachineInput, 'random'>>;

export interface ClientContext {
  /** Reconnect attempts since the last `welcome`. */
  attempt: number;
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  connectTimeoutMs: number;
  queueTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  random: () => number;
  /** The delay chosen for the pending reconnect, ms. */
  retryDelayMs: number;
  /** The failure that led here (reconnecting or failed). */
  lastError?: ClientFailure;
  /** true when `failed` because the attempts ran out, not because of the error itself. */
  exhausted: boolean;
  /**
   * A page-visible retry cut a backoff short since the last wait that ran its course: the
   * next one is waited out, so flipping tabs during an outage cannot spend every attempt.
   */
  visibleRetryUsed: boolean;
  sessionId?: string;
  queuePosition?: number;
  estimatedWaitMs?: number;
}

export type ClientEvent =
  | { type: 'client.connect' }
  | { type: 'client.disconnect' }
  | { type: 'socket.queued'; position: number; estimatedWaitMs: number }
  | { type: 'socket.welcomed'; sessionId: string }
  | { type: 'socket.closed'; failure: ClientFailure }
  | { type: 'heartbeat.pong' }
  | { type: 'network.offline' }
  | { type: 'network.online' }
  | { type: 'page.visible' };

export type ClientStateName = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientMachineInput,
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeoutMs,
    queueTimeout: ({ context }) => context.queueTimeoutMs,
    pingInterval: ({ context }) => context.pingIntervalMs,
    pongTimeout: ({ context }) => context.pongTimeoutMs,
    reconnectDelay: ({ context }) => context.retryDelayMs,
  },
  guards: {
    isRetryable: ({ context }) => context.lastError?.retryable === true,
    hasAttemptsLeft: ({ context }) => context.attempt < context.maxAttempts,
    /** A wait the server asked for must be honoured: no early retry on page focus. */
    noServerHint: ({ context }) => context.lastError?.retryAfterFromServer !== true,
    /** One early retry on page focus per wait that ran its course. */
    visibleRetryLeft: ({ context }) => !context.visibleRetryUsed,
  },
  actions: {
    recordFailure: assign((_, params: ClientFailure) => ({ lastError: params, exhausted: false })),
    markExhausted: assign({ exhausted: true }),
    /** Choose the next delay: full jitter on the attempt, never below the retry hint. */
    planRetry: assign(({ context }) => ({
      retryDelayMs: Math.max(
        retryFloor(context.lastError, context.random),
        backoffDelay(context.attempt, { ...context.backoff, random: context.random }),
      ),
      attempt: context.attempt + 1,
    })),
    resetAttempts: assign({ attempt: 0, exhausted: false, visibleRetryUsed: false }),
    useVisibleRetry: assign({ visibleRetryUsed: true }),
    /** A backoff was waited out in full: the page may cut the next one short again. */
    restoreVisibleRetry: assign({ visibleRetryUsed: false }),
    recordQueued: assign((_, params: { position: number; estimatedWaitMs: number }) => ({
      queuePosition: params.position,
      estimatedWaitMs: params.estimatedWaitMs,
    })),
    recordWelcome: assign((_, params: { sessionId: string }) => ({
      sessionId: params.sessionId,
      lastError: undefined,
      queuePosition: undefined,
      estimatedWaitMs: undefined,
    })),
    /** Fetch a token, open the socket, send hello (with resume when there is a session). */
    openSocket: () => {},
    /** Close the current socket (after `bye` when `graceful`) and ignore anything it still says. */
    closeSocket: (_, _params: { graceful: boolean }) => {},
    sendPing: () => {},
    /** Send what was queued while offline, in order. */
    flushOutbox: () => {},
    /** Reject what is queued or waiting for an answer: nothing will answer it now. */
    abandonOutbox: (_, _params: { fatal: boolean }) => {},
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    attempt: 0,
    maxAttempts: input.maxAttempts ?? CLIENT_MACHINE_DEFAULTS.maxAttempts,
    backoff: {
      baseMs: input.backoffBaseMs ?? CLIENT_MACHINE_DEFAULTS.backoffBaseMs,
      maxMs: input.backoffMaxMs ?? CLIENT_MACHINE_DEFAULTS.backoffMaxMs,
    },
    connectTimeoutMs: input.connectTimeoutMs ?? CLIENT_MACHINE_DEFAULTS.connectTimeoutMs,
    queueTimeoutMs: input.queueTimeoutMs ?? CLIENT_MACHINE_DEFAULTS.queueTimeoutMs,
    pingIntervalMs: input.pingIntervalMs ?? CLIENT_MACHINE_DEFAULTS.pingIntervalMs,
    pongTimeoutMs: input.pongTimeoutMs ?? CLIENT_MACHINE_DEFAULTS.pongTimeoutMs,
    random: input.random ?? Math.random,
    retryDelayMs: 0,
    exhausted: false,
    visibleRetryUsed: false,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { 'client.connect': 'connecting' },
    },
    connecting: {
      entry: 'openSocket',
      initial: 'opening',
      states: {
        opening: {
          after: {
            connectTimeout: {
              target: '#client.lost',
              actions: [
                { type: 'recordFailure', params: { code: 'CONNECT_TIMEOUT', retryable: true } },
                { type: 'closeSocket', params: { graceful: false } },
              ],
            },
          },
          on: {
            'socket.queued': {
              target: 'queued',
              actions: {
                type: 'recordQueued',
                params: ({ event }) => ({ position: event.position, estimatedWaitMs: event.estimatedWaitMs }),
              },
            },
          },
        },
        /** The gateway is saturated and holds us in line; each `queued` frame re-arms the wait. */
        queued: {
          after: {
            queueTimeout: {
              target: '#client.lost',
              actions: [
                { type: 'recordFailure', params: { code: 'QUEUE_TIMEOUT', retryable: true } },
                { type: 'closeSocket', params: { graceful: false } },
              ],
            },
          },
          on: {
            'socket.queued': {
              target: 'queued',
              reenter: true,
              actions: {
                type: 'recordQueued',
                params: ({ event }) => ({ position: event.position, estimatedWaitMs: event.estimatedWaitMs }),
              },
            },
          },
        },
      },
      on: {
        'socket.welcomed': {
          target: 'connected',
          actions: { type: 'recordWelcome', params: ({ event }) => ({ sessionId: event.sessionId }) },
        },
        'socket.closed': {
          target: 'lost',
          actions: { type: 'recordFailure', params: ({ event }) => event.failure },
        },
        'network.offline': {
          target: 'reconnecting.offline',
          actions: [
            { type: 'recordFailure', params: { code: 'NETWORK_OFFLINE', retryable: true } },
            { type: 'closeSocket', params: { graceful: false } },
          ],
        },
        'client.disconnect': {
          target: 'closed',
          actions: { type: 'closeSocket', params: { graceful: true } },
        },
      },
    },
    connected: {
      entry: ['resetAttempts', 'flushOutbox'],
      initial: 'live',
      states: {
        live: {
          after: { pingInterval: 'probing' },
        },
        /** A ping is out; no pong in time means a half-open socket. */
        probing: {
          entry: 'sendPing',
          on: { 'heartbeat.pong': 'live' },
          after: {
            pongTimeout: {
              target: '#client.lost',
              actions: [
                { type: 'recordFailure', params: { code: 'HEARTBEAT_TIMEOUT', retryable: true } },
                { type: 'closeSocket', params: { graceful: false } },
              ],
            },
          },
        },
      },
      on: {
        'socket.closed': {
          target: 'lost',
          actions: { type: 'recordFailure', params: ({ event }) => event.failure },
        },
        'network.offline': {
          target: 'reconnecting.offline',
          actions: [
            { type: 'recordFailure', params: { code: 'NETWORK_OFFLINE', retryable: true } },
            { type: 'closeSocket', params: { graceful: false } },
          ],
        },
        'client.disconnect': {
          target: 'closed',
          actions: { type: 'closeSocket', params: { graceful: true } },
        },
      },
    },
    /** Decides, for every kind of loss, whether to try again. */
    lost: {
      always: [
        { guard: and(['isRetryable', 'hasAttemptsLeft']), target: 'reconnecting' },
        { guard: 'isRetryable', target: 'failed', actions: 'markExhausted' },
        { target: 'failed' },
      ],
    },
    reconnecting: {
      initial: 'waiting',
      states: {
        waiting: {
          entry: 'planRetry',
          after: { reconnectDelay: { target: '#client.connecting', actions: 'restoreVisibleRetry' } },
          on: {
            'network.offline': 'offline',
            // Back on the page: try now rather than wait out a long backoff — once per full wait.
            'page.visible': {
              guard: and(['noServerHint', 'visibleRetryLeft']),
              target: '#client.connecting',
              actions: 'useVisibleRetry',
            },
          },
        },
        /** No network: no attempts are spent until it returns. */
        offline: {
          on: { 'network.online': '#client.connecting' },
        },
      },
      on: {
        'client.connect': 'connecting',
        'client.disconnect': 'closed',
      },
    },
    failed: {
      entry: { type: 'abandonOutbox', params: { fatal: true } },
      on: { 'client.connect': { target: 'connecting', actions: 'resetAttempts' } },
    },
    closed: {
      entry: { type: 'abandonOutbox', params: { fatal: false } },
      on: { 'client.connect': { target: 'connecting', actions: 'resetAttempts' } },
    },
  },
});

/** The least wait a failure asks for: the server's hint as is, a registry default jittered upwards. */
function retryFloor(failure: ClientFailure | undefined, random: () => number): number {
  if (failure?.retryAfterMs === undefined) return 0;
  if (failure.retryAfterFromServer) return failure.retryAfterMs;
  return jitteredAtLeast(failure.retryAfterMs, AT_LEAST_JITTER, random);
}

/** The top-level state of a snapshot value, e.g. `{ connected: 'live' }` → `connected`. */
export function topLevelState(value: string | Record<string, unknown>): ClientStateName {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as ClientStateName;
}
