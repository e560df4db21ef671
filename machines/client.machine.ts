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
 * - connected: `welcome` received. Two regions run side by side: `heartbeat`, which pings
 *   when the line has been quiet and counts anything the gateway says as a sign of life (a
 *   half-open socket says nothing), and `token`, which refreshes the token in band
 *   before it expires (`valid` → `renewing`, the application's getToken() → `sent`, the
 *   `refresh` frame → `valid` again on `refreshed`), retrying with backoff while time is left
 *   and otherwise `lapsed`: the gateway closes at `exp` (4002) and the reconnect fetches a
 *   new token. `unmanaged` when the token has no `exp` or nothing can replace it.
 * - reconnecting: waiting out a backoff with full jitter above a floor (never less than
 *   the server's `retryAfterMs`), whose window starts over only after a connection that
 *   lasted `pingIntervalMs` (one dropped right after each `welcome` is no success); optionally `checking` the gateway's readiness first,
 *   which costs no attempt; `offline` while the browser says there is no network — told by
 *   its `offline` event, or read (`networkDown`) when an attempt ends, for a page that
 *   started offline hears no event. `online` ends the wait at once, in `offline` and `waiting`.
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
 * packages/client/src/tether-client.ts. The file opens as-is in the Stately visualizer; its
 * input, context, events and the arithmetic its guards use are in client-context.ts and
 * client-token-refresh.ts.
 */
import { and, assign, fromPromise, not, setup } from 'xstate';
import { backoffDelay, jitteredHint } from '../src/shared/backoff.ts';
import {
  type ClientContext,
  type ClientEvent,
  type ClientFailure,
  type ClientMachineInput,
  type GatewayReadiness,
  heardSince,
  initialContext,
  lineQuiet,
  pingDelay,
  retryFloor,
  toFailure,
} from './client-context.ts';
import { outlives, refreshDelay, tokenExpiry } from './client-token-refresh.ts';

export * from './client-context.ts';

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
    pingDue: ({ context }) => pingDelay(context.lineActivity?.(), context.pingIntervalMs, context.now()),
    pongTimeout: ({ context }) => context.pongTimeoutMs,
    reconnectDelay: ({ context }) => context.retryDelayMs,
    probeInterval: ({ context }) => jitteredHint(context.probeIntervalMs, context.random),
    refreshDelay: ({ context }) => context.refreshDelayMs,
    /** A connection that lasted a heartbeat interval was no flap: the backoff may start over. */
    stableConnection: ({ context }) => context.pingIntervalMs,
  },
  guards: {
    /**
     * Retryable — or a refused refresh (AUTH_REFRESH_REJECTED, not retryable with the same token):
     * the reconnect asks getToken() for a new token, so one more attempt can pass. An expired token
     * is retryable only because a new one can be fetched: a fixed token would be refused again.
     */
    worthRetrying: ({ context }) => {
      const failure = context.lastError;
      if (context.fixedToken && failure?.code === 'AUTH_TOKEN_EXPIRED') return false;
      return failure?.retryable === true || failure?.code === 'AUTH_REFRESH_REJECTED';
    },
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
      outlives(context.now(), params.tokenExpiresInMs, context.tokenExpiresAt),
    /** A refresh that failed in a way worth trying again (a coded, non-retryable error is not). */
    refreshRetryable: (_, params: { failure: ClientFailure }) => params.failure.retryable,
    /** The line has been quiet long enough that a ping is due. */
    lineQuiet: ({ context }) => lineQuiet(context.lineActivity?.(), context.pingIntervalMs, context.now()),
    /** The gateway said something since the ping: alive, whether or not it was the pong. */
    heardSincePing: ({ context }) => heardSince(context.lineActivity?.(), context.pingSentAt),
    hasAttemptsLeft: ({ context }) => context.attempt < context.maxAttempts,
    /** A wait the server asked for must be honoured: no early retry on page focus. */
    noServerHint: ({ context }) => context.lastError?.retryAfterFromServer !== true,
    /** One early retry on page focus per wait that ran its course. */
    visibleRetryLeft: ({ context }) => !context.visibleRetryUsed,
    probeFirst: ({ context }) => context.probeBeforeConnect,
    /** The browser says there is no network: an attempt now would fail, and prove nothing. */
    networkDown: ({ context }) => !context.isOnline(),
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
    /**
     * Welcomed: the attempts are spent no more, but the backoff keeps its step until the connection
     * has lasted (`resetBackoff`): one dropped right after each `welcome` would otherwise be tried
     * again every 250–500 ms for ever.
     */
    countWelcome: assign({ attempt: 0, exhausted: false, visibleRetryUsed: false }),
    resetBackoff: assign({ step: 0 }),
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
    recordPing: assign(({ context }) => ({ pingSentAt: context.now() })),
    sendPing: () => {},
    /** Send what was queued while offline, in order. */
    flushOutbox: () => {},
    /** Reject what is queued or waiting for an answer: nothing will answer it now. */
    abandonOutbox: (_, _params: { fatal: boolean }) => {},
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  states: {
    idle: {
      // Calls made before connect() wait in the outbox: disconnect() settles them (closed).
      on: { 'client.connect': 'connecting', 'client.disconnect': 'closed' },
    },
    connecting: {
      initial: 'authorizing',
      states: {
        authorizing: {
          invoke: {
            id: 'token',
            src: 'fetchToken',
            onDone: [
              {
                guard: 'networkDown',
                target: '#client.lost',
                actions: { type: 'recordFailure', params: { code: 'NETWORK_OFFLINE', retryable: true } },
              },
              {
                target: 'opening',
                actions: { type: 'openSocket', params: ({ event }) => ({ token: event.output }) },
              },
            ],
            onError: [
              // No network explains the failure: no readiness check (it would fail the same way).
              {
                guard: 'networkDown',
                target: '#client.lost',
                actions: { type: 'recordFailure', params: ({ event }) => toFailure(event.error) },
              },
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
      entry: ['countWelcome', 'flushOutbox'],
      type: 'parallel',
      after: { stableConnection: { actions: 'resetBackoff' } },
      states: {
        heartbeat: {
          initial: 'live',
          states: {
            /** Traffic flows, or did until lately: look again when the line may have gone quiet. */
            live: {
              after: {
                pingDue: [
                  { guard: 'lineQuiet', target: 'probing' },
                  { target: 'live', reenter: true },
                ],
              },
            },
            /**
             * A ping is out. Nothing at all from the gateway in time means a half-open socket; any
             * frame will do, as a refused ping (MESSAGE_RATE_LIMITED) carries no ref to tie it to.
             */
            probing: {
              entry: ['recordPing', 'sendPing'],
              on: { 'heartbeat.pong': 'live' },
              after: {
                pongTimeout: [
                  { guard: 'heardSincePing', target: 'live' },
                  lostWith({ code: 'HEARTBEAT_TIMEOUT', retryable: true }),
                ],
              },
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
    /**
     * Decides, for every kind of loss, whether to try again. Without a network, anything worth
     * retrying waits for it, as NETWORK_OFFLINE, and spends no attempt.
     */
    lost: {
      always: [
        {
          guard: and(['worthRetrying', 'networkDown']),
          target: 'reconnecting.offline',
          actions: { type: 'recordFailure', params: { code: 'NETWORK_OFFLINE', retryable: true } },
        },
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
            // The network is back (it may have been gone without an `offline` event): try now,
            // unless the gateway asked for this wait.
            'network.online': { guard: 'noServerHint', target: '#client.connecting' },
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
      // `disconnect()` here too: from `exhausted` the probe would otherwise bring back a client
      // the application stopped.
      on: {
        'client.connect': { target: 'connecting', actions: 'resetAttempts' },
        'client.disconnect': 'closed',
      },
    },
    closed: {
      entry: { type: 'abandonOutbox', params: { fatal: false } },
      on: { 'client.connect': { target: 'connecting', actions: 'resetAttempts' } },
    },
  },
});
