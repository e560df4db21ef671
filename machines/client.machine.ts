/**
 * The client SDK's connection — the twin of machines/connection.machine.ts, seen
 * from the other end of the socket. Never stranded: by default it keeps trying for
 * as long as the application lives.
 *
 * - idle: nothing opened yet.
 * - connecting: `authorizing` (the application's getToken()), then `opening` (socket,
 *   `hello`, waiting for `welcome`), `queued` while the gateway holds us in its admission
 *   queue. A token that cannot be had is checked against the gateway's readiness first
 *   (`checkingGateway`): an unreachable gateway is reported as such, not as a token problem.
 * - connected: `welcome` received. Two regions run side by side: `heartbeat`, an app-level
 *   ping that probes for half-open sockets, and `token`, which refreshes the token in band
 *   before it expires (`valid` → `renewing`, the application's getToken() → `sent`, the
 *   `refresh` frame → `valid` again on `refreshed`), retrying with backoff while time is left
 *   and otherwise `lapsed`: the gateway closes at `exp` (4002) and the reconnect fetches a
 *   new token. `unmanaged` when the token has no `exp` or nothing can replace it.
 * - reconnecting: waiting out a backoff with full jitter above a floor (never less than
 *   the server's `retryAfterMs`); optionally `checking` the gateway's readiness first,
 *   which costs no attempt; `offline` while the browser says there is no network.
 * - failed: `stopped` after a non-retryable error (until `connect()`), or `exhausted` when
 *   a bounded number of attempts ran out — then a readiness probe, at a slow jittered
 *   cadence and whenever the network returns or the page becomes visible, brings the
 *   client back by itself.
 * - closed: the application called `disconnect()`.
 *
 * Every failure goes through `lost`, which decides retry or give up in one place. A refused
 * refresh (AUTH_REFRESH_REJECTED, 4004) is not retryable as such — the same token would be
 * refused again — but a reconnect never sends it again: it asks getToken() for a new one, and
 * what that attempt meets decides the rest (a bad token stops at AUTH_INVALID_TOKEN). So the
 * machine tries once more, with backoff; never a tight loop.
 *
 * Pure: effects and async steps are named stubs, provided by
 * packages/client/src/tether-client.ts. The file opens as-is in the Stately visualizer.
 */
import { and, assign, fromPromise, not, setup } from 'xstate';
import {
  AT_LEAST_JITTER,
  BACKOFF_DEFAULTS,
  backoffDelay,
  jitteredAtLeast,
  jitteredHint,
} from '../src/shared/backoff.ts';
import { refreshDelay } from './client-token-refresh.ts';

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

/** What the gateway's `/readyz` said: 2xx, 503 (draining, or its Redis is down), or nothing at all. */
export type GatewayReadiness = 'ready' | 'not-ready' | 'unreachable';

export interface ClientMachineInput {
  /** Reconnect attempts after a loss before `failed`; `Infinity` never gives up. @defaultValue Infinity */
  maxAttempts?: number;
  /** First backoff window, ms. @defaultValue 500 */
  backoffBaseMs?: number;
  /** Largest backoff window, ms. @defaultValue 30000 */
  backoffMaxMs?: number;
  /** Least share of the backoff window a delay takes, in [0, 1]. @defaultValue 0.5 */
  backoffFloor?: number;
  /** Ask the gateway's `/readyz` before each reconnect; not ready costs no attempt. @defaultValue false */
  probeBeforeConnect?: boolean;
  /** Mean period of the readiness probe once the attempts ran out, ms (jittered ±50 %). @defaultValue 30000 */
  probeIntervalMs?: number;
  /** From asking for a token to `welcome`, ms (each of the two steps). @defaultValue 10000 */
  connectTimeoutMs?: number;
  /** Longest wait between two `queued` frames in the admission queue, ms. @defaultValue 60000 */
  queueTimeoutMs?: number;
  /** Period of the heartbeat while connected, ms, counted from `welcome` or the last pong. @defaultValue 20000 */
  pingIntervalMs?: number;
  /** Time a ping has to be answered before the socket counts as dead, ms. @defaultValue 10000 */
  pongTimeoutMs?: number;
  /**
   * Refresh the token in band before it expires (needs a token source that can give a new
   * one). @defaultValue true
   */
  refreshInBand?: boolean;
  /**
   * Least time before the token's expiry to refresh it, ms; grows to a tenth of the token's
   * lifetime for long-lived tokens, and never exceeds half of it. @defaultValue 30000
   */
  refreshLeadMs?: number;
  /** Share of the wait until the refresh by which it may come earlier, in [0, 1]. @defaultValue 0.1 */
  refreshJitter?: number;
  /** Randomness for the jitter, in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** The clock, ms since the epoch. @defaultValue Date.now */
  now?: () => number;
}

/**
 * The input's defaults, and so the SDK's option defaults (packages/client/src/client-options.ts);
 * the backoff window comes from the shared backoff module. The seeds' bounded mode is
 * `maxAttempts: 10`.
 */
export const CLIENT_MACHINE_DEFAULTS = {
  maxAttempts: Number.POSITIVE_INFINITY,
  backoffBaseMs: BACKOFF_DEFAULTS.baseMs,
  backoffMaxMs: BACKOFF_DEFAULTS.maxMs,
  backoffFloor: 0.5,
  probeBeforeConnect: false,
  probeIntervalMs: 30_000,
  connectTimeoutMs: 10_000,
  queueTimeoutMs: 60_000,
  pingIntervalMs: 20_000,
  pongTimeoutMs: 10_000,
  refreshInBand: true,
  refreshLeadMs: 30_000,
  refreshJitter: 0.1,
} as const satisfies Required<Omit<ClientMachineInput, 'random' | 'now'>>;

export interface ClientContext
  extends Required<
    Omit<
      ClientMachineInput,
      'backoffBaseMs' | 'backoffMaxMs' | 'backoffFloor' | 'refreshLeadMs' | 'refreshJitter'
    >
  > {
  /** Reconnect attempts since the last `welcome`: sockets tried, not readiness checks. */
  attempt: number;
  /** Backoff steps since the last `welcome`: every planned wait, so a gateway that is not ready waits longer. */
  step: number;
  backoff: { baseMs: number; maxMs: number; floor: number };
  /** The delay chosen for the pending reconnect, ms. */
  retryDelayMs: number;
  /** The failure that led here (reconnecting or failed). */
  lastError?: ClientFailure;
  /** true when `failed` because the attempts ran out, not because of the error itself. */
  exhausted: boolean;
  /** A page-visible retry cut a backoff short since the last wait that ran its course. */
  visibleRetryUsed: boolean;
  sessionId?: string;
  queuePosition?: number;
  estimatedWaitMs?: number;
  refresh: { leadMs: number; jitter: number };
  /** When the connection's token expires, on this clock (ms since the epoch); absent: no `exp`. */
  tokenExpiresAt?: number;
  /** How long that token had left when it came into use, ms. */
  tokenLifetimeMs?: number;
  /** The wait chosen before the next refresh step (the refresh itself, or a retry of it), ms. */
  refreshDelayMs: number;
  /** Refresh retries since the token came into use. */
  refreshStep: number;
}

export type ClientEvent =
  | { type: 'client.connect' }
  | { type: 'client.disconnect' }
  | { type: 'socket.queued'; position: number; estimatedWaitMs: number }
  /** `tokenExpiresInMs`: how long the connection's token has left; absent when it has no `exp`. */
  | { type: 'socket.welcomed'; sessionId: string; tokenExpiresInMs?: number }
  /** The gateway accepted our `refresh`: the connection runs on the new token. */
  | { type: 'token.refreshed'; tokenExpiresInMs?: number }
  /** The gateway answered our `refresh` with an error that does not close the connection. */
  | { type: 'token.refreshFailed'; failure: ClientFailure }
  | { type: 'socket.closed'; failure: ClientFailure }
  | { type: 'heartbeat.pong' }
  | { type: 'network.offline' }
  | { type: 'network.online' }
  | { type: 'page.visible' };

export type ClientStateName = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/**
 * Two expiries this close are the same `exp` (a JWT's is in whole seconds; the runtime turns it into
 * this clock the same way each time, so only the ms it runs in differ).
 */
const SAME_EXPIRY_TOLERANCE_MS = 100;

/** A failure the machine itself detects (a timer ran out): record it, drop the socket, decide. */
const lostWith = (failure: ClientFailure) =>
  ({
    target: '#client.lost',
    actions: [
      { type: 'recordFailure', params: failure },
      { type: 'closeSocket', params: { graceful: false } },
    ],
  }) as const;

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientMachineInput,
  },
  actors: {
    /** The application's getToken() (or its fixed token); rejects with a ClientFailure-shaped error. */
    fetchToken: fromPromise<string | undefined>(async () => undefined),
    /** The application's getToken() again, for an in-band refresh; rejects like fetchToken. */
    renewToken: fromPromise<string | undefined>(async () => undefined),
    /** GET the gateway's `/readyz`. */
    probeGateway: fromPromise<GatewayReadiness>(async () => 'ready'),
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeoutMs,
    queueTimeout: ({ context }) => context.queueTimeoutMs,
    pingInterval: ({ context }) => context.pingIntervalMs,
    pongTimeout: ({ context }) => context.pongTimeoutMs,
    reconnectDelay: ({ context }) => context.retryDelayMs,
    probeInterval: ({ context }) => jitteredHint(context.probeIntervalMs, context.random),
    refreshDelay: ({ context }) => context.refreshDelayMs,
  },
  guards: {
    /**
     * Retryable — or a refused refresh (AUTH_REFRESH_REJECTED, not retryable with the same token):
     * the reconnect asks getToken() for a new token, so one more attempt can pass.
     */
    worthRetrying: ({ context }) =>
      context.lastError?.retryable === true || context.lastError?.code === 'AUTH_REFRESH_REJECTED',
    /** The token expires, and a new one can be had to send before it does. */
    refreshable: ({ context }) => context.refreshInBand && context.tokenExpiresAt !== undefined,
    /** The planned retry of a refresh still comes before the token expires. */
    refreshInTime: ({ context }) =>
      context.tokenExpiresAt !== undefined && context.now() + context.refreshDelayMs < context.tokenExpiresAt,
    /**
     * The refreshed token lives longer than the one it replaced. A token source that answers from a
     * cache may hand back the same token: planning from it again would refresh ever sooner, so that
     * is retried with backoff like a failure (and the expiry it reports is kept: it may be earlier).
     */
    refreshGainedTime: ({ context }, params: { tokenExpiresInMs?: number }) =>
      params.tokenExpiresInMs === undefined ||
      context.tokenExpiresAt === undefined ||
      context.now() + params.tokenExpiresInMs > context.tokenExpiresAt + SAME_EXPIRY_TOLERANCE_MS,
    /** A refresh that failed in a way worth trying again (a coded, non-retryable error is not). */
    refreshRetryable: (_, params: { failure: ClientFailure }) => params.failure.retryable,
    hasAttemptsLeft: ({ context }) => context.attempt < context.maxAttempts,
    /** A wait the server asked for must be honoured: no early retry on page focus. */
    noServerHint: ({ context }) => context.lastError?.retryAfterFromServer !== true,
    /** One early retry on page focus per wait that ran its course. */
    visibleRetryLeft: ({ context }) => !context.visibleRetryUsed,
    probeFirst: ({ context }) => context.probeBeforeConnect,
    /** getToken() failed in its own way (no code of the application's choosing). */
    tokenSourceFailed: (_, params: { error: unknown }) =>
      toFailure(params.error).code === 'TOKEN_UNAVAILABLE',
    isReady: (_, params: { readiness: GatewayReadiness }) => params.readiness === 'ready',
    isUnreachable: (_, params: { readiness: GatewayReadiness }) => params.readiness === 'unreachable',
  },
  actions: {
    recordFailure: assign((_, params: ClientFailure) => ({ lastError: params, exhausted: false })),
    markExhausted: assign({ exhausted: true }),
    /** Choose the next delay (jitter above a floor, never below the retry hint) and count the attempt. */
    planRetry: assign(({ context }) => ({
      retryDelayMs: Math.max(
        retryFloor(context.lastError, context.random),
        backoffDelay(context.step, { ...context.backoff, random: context.random }),
      ),
      step: context.step + 1,
      attempt: context.attempt + 1,
    })),
    /** The gateway was not ready, so no socket was tried: the attempt is not spent. */
    releaseAttempt: assign(({ context }) => ({ attempt: context.attempt - 1 })),
    resetAttempts: assign({ attempt: 0, step: 0, exhausted: false, visibleRetryUsed: false }),
    useVisibleRetry: assign({ visibleRetryUsed: true }),
    /** A backoff was waited out in full: the page may cut the next one short again. */
    restoreVisibleRetry: assign({ visibleRetryUsed: false }),
    recordQueued: assign((_, params: { position: number; estimatedWaitMs: number }) => ({
      queuePosition: params.position,
      estimatedWaitMs: params.estimatedWaitMs,
    })),
    recordWelcome: assign(({ context }, params: { sessionId: string; tokenExpiresInMs?: number }) => ({
      sessionId: params.sessionId,
      lastError: undefined,
      queuePosition: undefined,
      estimatedWaitMs: undefined,
      refreshStep: 0,
      ...tokenExpiry(context.now(), params.tokenExpiresInMs),
    })),
    /** The connection runs on the token a `refresh` sent: its expiry. */
    recordRefresh: assign(({ context }, params: { tokenExpiresInMs?: number }) =>
      tokenExpiry(context.now(), params.tokenExpiresInMs),
    ),
    /** A newer token: no retries spent on it yet. */
    resetRefreshStep: assign({ refreshStep: 0 }),
    /** Choose when to refresh: a lead before expiry, jittered earlier (client-token-refresh.ts). */
    planRefresh: assign(({ context }) => ({
      refreshDelayMs: refreshDelay(
        (context.tokenExpiresAt ?? 0) - context.now(),
        context.tokenLifetimeMs ?? 0,
        context.refresh,
        context.random,
      ),
    })),
    /** Back off before the next try, with the reconnect's backoff. */
    planRefreshRetry: assign(({ context }) => ({
      refreshDelayMs: backoffDelay(context.refreshStep, { ...context.backoff, random: context.random }),
      refreshStep: context.refreshStep + 1,
    })),
    /** Send `refresh` with the new token. */
    sendRefresh: (_, _params: { token: string | undefined }) => {},
    /** Open the socket and send hello with this token (with resume when there is a session). */
    openSocket: (_, _params: { token: string | undefined }) => {},
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
  context: ({ input }) => {
    const d = CLIENT_MACHINE_DEFAULTS;
    return {
      attempt: 0,
      step: 0,
      maxAttempts: input.maxAttempts ?? d.maxAttempts,
      backoff: {
        baseMs: input.backoffBaseMs ?? d.backoffBaseMs,
        maxMs: input.backoffMaxMs ?? d.backoffMaxMs,
        floor: input.backoffFloor ?? d.backoffFloor,
      },
      probeBeforeConnect: input.probeBeforeConnect ?? d.probeBeforeConnect,
      probeIntervalMs: input.probeIntervalMs ?? d.probeIntervalMs,
      connectTimeoutMs: input.connectTimeoutMs ?? d.connectTimeoutMs,
      queueTimeoutMs: input.queueTimeoutMs ?? d.queueTimeoutMs,
      pingIntervalMs: input.pingIntervalMs ?? d.pingIntervalMs,
      pongTimeoutMs: input.pongTimeoutMs ?? d.pongTimeoutMs,
      refreshInBand: input.refreshInBand ?? d.refreshInBand,
      refresh: {
        leadMs: input.refreshLeadMs ?? d.refreshLeadMs,
        jitter: input.refreshJitter ?? d.refreshJitter,
      },
      random: input.random ?? Math.random,
      now: input.now ?? Date.now,
      retryDelayMs: 0,
      exhausted: false,
      visibleRetryUsed: false,
      refreshDelayMs: 0,
      refreshStep: 0,
    };
  },
  initial: 'idle',
  states: {
    idle: {
      on: { 'client.connect': 'connecting' },
    },
    connecting: {
      initial: 'authorizing',
      states: {
        authorizing: {
          invoke: {
            id: 'token',
            src: 'fetchToken',
            onDone: {
              target: 'opening',
              actions: { type: 'openSocket', params: ({ event }) => ({ token: event.output }) },
            },
            onError: [
              {
                guard: { type: 'tokenSourceFailed', params: ({ event }) => ({ error: event.error }) },
                target: 'checkingGateway',
                actions: { type: 'recordFailure', params: ({ event }) => toFailure(event.error) },
              },
              {
                target: '#client.lost',
                actions: { type: 'recordFailure', params: ({ event }) => toFailure(event.error) },
              },
            ],
          },
          after: {
            connectTimeout: {
              target: 'checkingGateway',
              actions: { type: 'recordFailure', params: { code: 'TOKEN_UNAVAILABLE', retryable: true } },
            },
          },
        },
        /** No token: is it the token source, or is the gateway (which often serves tokens) down? */
        checkingGateway: {
          invoke: {
            id: 'readiness',
            src: 'probeGateway',
            onDone: [
              {
                guard: { type: 'isUnreachable', params: ({ event }) => ({ readiness: event.output }) },
                target: '#client.lost',
                actions: { type: 'recordFailure', params: { code: 'GATEWAY_UNREACHABLE', retryable: true } },
              },
              { target: '#client.lost' },
            ],
            onError: '#client.lost',
          },
        },
        opening: {
          after: { connectTimeout: lostWith({ code: 'CONNECT_TIMEOUT', retryable: true }) },
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
          after: { queueTimeout: lostWith({ code: 'QUEUE_TIMEOUT', retryable: true }) },
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
          actions: {
            type: 'recordWelcome',
            params: ({ event }) => ({ sessionId: event.sessionId, tokenExpiresInMs: event.tokenExpiresInMs }),
          },
        },
        'socket.closed': {
          target: 'lost',
          actions: { type: 'recordFailure', params: ({ event }) => event.failure },
        },
        'network.offline': {
          ...lostWith({ code: 'NETWORK_OFFLINE', retryable: true }),
          target: 'reconnecting.offline',
        },
        'client.disconnect': {
          target: 'closed',
          actions: { type: 'closeSocket', params: { graceful: true } },
        },
      },
    },
    connected: {
      entry: ['resetAttempts', 'flushOutbox'],
      type: 'parallel',
      states: {
        heartbeat: {
          initial: 'live',
          states: {
            live: {
              after: { pingInterval: 'probing' },
            },
            /** A ping is out; no pong in time means a half-open socket. */
            probing: {
              entry: 'sendPing',
              on: { 'heartbeat.pong': 'live' },
              after: { pongTimeout: lostWith({ code: 'HEARTBEAT_TIMEOUT', retryable: true }) },
            },
          },
        },
        /** In-band refresh: a new token before the current one expires, on the same socket. */
        token: {
          initial: 'deciding',
          states: {
            deciding: {
              always: [{ guard: 'refreshable', target: 'valid' }, { target: 'unmanaged' }],
            },
            /** No `exp`, or nothing to replace the token with: it lasts as long as the connection. */
            unmanaged: {},
            valid: {
              entry: 'planRefresh',
              after: { refreshDelay: 'renewing' },
            },
            renewing: {
              invoke: {
                id: 'renewal',
                src: 'renewToken',
                onDone: {
                  target: 'sent',
                  actions: { type: 'sendRefresh', params: ({ event }) => ({ token: event.output }) },
                },
                onError: [
                  {
                    guard: {
                      type: 'refreshRetryable',
                      params: ({ event }) => ({ failure: toFailure(event.error) }),
                    },
                    target: 'retrying',
                  },
                  // The application's verdict (e.g. AUTH_INVALID_TOKEN: logged out): no more tries.
                  { target: 'lapsed' },
                ],
              },
              after: { connectTimeout: 'retrying' },
            },
            /** `refresh` is out; `refreshed` (handled by the region) brings the next round. */
            sent: {
              on: {
                'token.refreshFailed': [
                  {
                    guard: { type: 'refreshRetryable', params: ({ event }) => ({ failure: event.failure }) },
                    target: 'retrying',
                  },
                  { target: 'lapsed' },
                ],
              },
              after: { connectTimeout: 'retrying' },
            },
            retrying: {
              entry: 'planRefreshRetry',
              always: { guard: not('refreshInTime'), target: 'lapsed' },
              after: { refreshDelay: 'renewing' },
            },
            /** No refresh in time: the gateway closes at `exp` (4002) and the reconnect gets a new token. */
            lapsed: {},
          },
          on: {
            'token.refreshed': [
              {
                guard: {
                  type: 'refreshGainedTime',
                  params: ({ event }) => ({ tokenExpiresInMs: event.tokenExpiresInMs }),
                },
                target: '.deciding',
                actions: [
                  {
                    type: 'recordRefresh',
                    params: ({ event }) => ({ tokenExpiresInMs: event.tokenExpiresInMs }),
                  },
                  'resetRefreshStep',
                ],
              },
              {
                target: '.retrying',
                actions: {
                  type: 'recordRefresh',
                  params: ({ event }) => ({ tokenExpiresInMs: event.tokenExpiresInMs }),
                },
              },
            ],
          },
        },
      },
      on: {
        'socket.closed': {
          target: 'lost',
          actions: { type: 'recordFailure', params: ({ event }) => event.failure },
        },
        'network.offline': {
          ...lostWith({ code: 'NETWORK_OFFLINE', retryable: true }),
          target: 'reconnecting.offline',
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
        { guard: and(['worthRetrying', 'hasAttemptsLeft']), target: 'reconnecting' },
        { guard: 'worthRetrying', target: 'failed.exhausted', actions: 'markExhausted' },
        { target: 'failed.stopped' },
      ],
    },
    reconnecting: {
      initial: 'waiting',
      states: {
        waiting: {
          entry: 'planRetry',
          after: {
            reconnectDelay: [
              { guard: 'probeFirst', target: 'checking', actions: 'restoreVisibleRetry' },
              { target: '#client.connecting', actions: 'restoreVisibleRetry' },
            ],
          },
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
        /** probeBeforeConnect: a gateway that is not ready is waited for without spending an attempt. */
        checking: {
          invoke: {
            id: 'readiness',
            src: 'probeGateway',
            onDone: [
              {
                guard: { type: 'isReady', params: ({ event }) => ({ readiness: event.output }) },
                target: '#client.connecting',
              },
              { target: 'waiting', actions: 'releaseAttempt' },
            ],
            onError: { target: 'waiting', actions: 'releaseAttempt' },
          },
          on: { 'network.offline': { target: 'offline', actions: 'releaseAttempt' } },
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
      initial: 'stopped',
      states: {
        /** Not retryable (a refused token, a broken rule): trying again as is would be refused again. */
        stopped: {},
        /** The attempts ran out: probe the gateway, slowly, and come back by ourselves once it is ready. */
        exhausted: {
          initial: 'resting',
          states: {
            resting: {
              after: { probeInterval: 'probing' },
              on: { 'network.online': 'probing', 'page.visible': 'probing' },
            },
            probing: {
              invoke: {
                id: 'readiness',
                src: 'probeGateway',
                onDone: [
                  {
                    guard: { type: 'isReady', params: ({ event }) => ({ readiness: event.output }) },
                    target: '#client.connecting',
                    actions: 'resetAttempts',
                  },
                  { target: 'resting' },
                ],
                onError: 'resting',
              },
            },
          },
        },
      },
      on: { 'client.connect': { target: 'connecting', actions: 'resetAttempts' } },
    },
    closed: {
      entry: { type: 'abandonOutbox', params: { fatal: false } },
      on: { 'client.connect': { target: 'connecting', actions: 'resetAttempts' } },
    },
  },
});

/** A token's expiry on this clock, from the time it has left; nothing when it has no `exp`. */
function tokenExpiry(now: number, expiresInMs: number | undefined) {
  if (expiresInMs === undefined) return { tokenExpiresAt: undefined, tokenLifetimeMs: undefined };
  return { tokenExpiresAt: now + expiresInMs, tokenLifetimeMs: expiresInMs };
}

/** The least wait a failure asks for: the server's hint as is, a registry default jittered upwards. */
function retryFloor(failure: ClientFailure | undefined, random: () => number): number {
  if (failure?.retryAfterMs === undefined) return 0;
  if (failure.retryAfterFromServer) return failure.retryAfterMs;
  return jitteredAtLeast(failure.retryAfterMs, AT_LEAST_JITTER, random);
}

/** A rejection from getToken(): its code when it carries one (the application's verdict), else TOKEN_UNAVAILABLE. */
export function toFailure(error: unknown): ClientFailure {
  const e = error as Partial<ClientFailure> | undefined;
  if (typeof e?.code !== 'string' || typeof e.retryable !== 'boolean')
    return { code: 'TOKEN_UNAVAILABLE', retryable: true };
  const failure: ClientFailure = { code: e.code, retryable: e.retryable };
  if (typeof e.retryAfterMs === 'number') {
    failure.retryAfterMs = e.retryAfterMs;
    failure.retryAfterFromServer = e.retryAfterFromServer === true;
  }
  return failure;
}

/** The top-level state of a snapshot value, e.g. `{ connected: 'live' }` → `connected`. */
export function topLevelState(value: string | Record<string, unknown>): ClientStateName {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as ClientStateName;
}
