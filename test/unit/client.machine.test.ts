/**
 * machines/client.machine.ts: pure `initialTransition` / `transition` (which state,
 * which effects would run — none are executed), the backoff it plans with an
 * injected random source, and timing with `createActor` + fake timers — including
 * the never-stranded paths: unbounded retries, the readiness probe after a bounded
 * mode gives up, and readiness checks that cost no attempt.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnyEventObject, createActor, fromPromise, initialTransition, transition } from 'xstate';
import {
  type ClientEvent,
  type ClientFailure,
  type ClientMachineInput,
  clientMachine,
  type GatewayReadiness,
} from '../../machines/client.machine.ts';
import { TetherClient } from '../../packages/client/src/index.ts';

const lostWith = (failure: ClientFailure): ClientEvent => ({ type: 'socket.closed', failure });
const CONNECTION_LOST: ClientFailure = { code: 'CONNECTION_LOST', retryable: true };
const AUTH_INVALID: ClientFailure = { code: 'AUTH_INVALID_TOKEN', retryable: false };
const welcomed: ClientEvent = { type: 'socket.welcomed', sessionId: 's-1' };
/** What the invoked actors report (their ids in the machine: `token`, `readiness`). */
const tokenFetched = (token = 'jwt') => ({ type: 'xstate.done.actor.token', output: token }) as never;
const tokenFailed = (error: unknown) => ({ type: 'xstate.error.actor.token', error }) as never;
const probed = (readiness: GatewayReadiness) =>
  ({ type: 'xstate.done.actor.readiness', output: readiness }) as never;

/** Effects a step would run: XState's own bookkeeping and assign() (context only) are not effects. */
function effects(actions: readonly { type: string }[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));
}

function walk(input: ClientMachineInput, ...events: (ClientEvent | AnyEventObject)[]) {
  let [snapshot] = initialTransition(clientMachine, input);
  for (const event of events) [snapshot] = transition(clientMachine, snapshot, event as ClientEvent);
  return snapshot;
}

describe('client machine — pure transitions', () => {
  it('starts idle and does nothing until asked; by default it never gives up', () => {
    const [snapshot, actions] = initialTransition(clientMachine, {});
    expect(snapshot.value).toBe('idle');
    expect(effects(actions)).toEqual([]);
    expect(snapshot.context).toMatchObject({
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: { baseMs: 500, maxMs: 30_000, floor: 0.5 },
      probeBeforeConnect: false,
      probeIntervalMs: 30_000,
    });
  });

  it('client.connect → asks for a token; the token opens the socket', () => {
    const [idle] = initialTransition(clientMachine, {});
    const [authorizing, actions] = transition(clientMachine, idle, { type: 'client.connect' });
    expect(authorizing.value).toEqual({ connecting: 'authorizing' });
    expect(effects(actions)).toEqual([]); // the token actor starts; no socket yet
    const [opening, opened] = transition(clientMachine, authorizing, tokenFetched('t-1'));
    expect(opening.value).toEqual({ connecting: 'opening' });
    expect(opened.find((a) => a.type === 'openSocket')?.params).toEqual({ token: 't-1' });
  });

  it('getToken() failing while the gateway is unreachable is GATEWAY_UNREACHABLE, not a token problem', () => {
    const checking = walk(
      {},
      { type: 'client.connect' },
      tokenFailed({ code: 'TOKEN_UNAVAILABLE', retryable: true }),
    );
    expect(checking.value).toEqual({ connecting: 'checkingGateway' });
    const [down] = transition(clientMachine, checking, probed('unreachable'));
    expect(down.value).toEqual({ reconnecting: 'waiting' });
    expect(down.context.lastError).toEqual({ code: 'GATEWAY_UNREACHABLE', retryable: true });
    const [up] = transition(clientMachine, checking, probed('ready'));
    expect(up.context.lastError).toEqual({ code: 'TOKEN_UNAVAILABLE', retryable: true });
    // A plain Error from the hook is a token-source failure too.
    expect(walk({}, { type: 'client.connect' }, tokenFailed(new Error('x'))).value).toEqual({
      connecting: 'checkingGateway',
    });
  });

  it('a coded error from getToken() is the application’s verdict: AUTH_INVALID_TOKEN stops at once', () => {
    const failed = walk({}, { type: 'client.connect' }, tokenFailed(AUTH_INVALID));
    expect(failed.value).toEqual({ failed: 'stopped' });
    expect(failed.context.lastError).toEqual(AUTH_INVALID);
  });

  it('welcome → connected.live: attempts reset, the offline queue flushed', () => {
    const connecting = walk({}, { type: 'client.connect' });
    const [next, actions] = transition(clientMachine, connecting, welcomed);
    expect(next.value).toEqual({ connected: { heartbeat: 'live', token: 'unmanaged' } });
    expect(next.context).toMatchObject({ sessionId: 's-1', attempt: 0, step: 0 });
    expect(effects(actions)).toEqual(['flushOutbox']);
  });

  it('a retryable loss while connected → reconnecting.waiting, the delay above the floor', () => {
    const connected = walk({ random: () => 0.5 }, { type: 'client.connect' }, welcomed);
    const [next, actions] = transition(clientMachine, connected, lostWith(CONNECTION_LOST));
    expect(next.value).toEqual({ reconnecting: 'waiting' });
    expect(next.context.attempt).toBe(1);
    expect(next.context.retryDelayMs).toBe(375); // 250 + 0.5 × (500 − 250)
    expect(next.context.lastError).toEqual(CONNECTION_LOST);
    expect(effects(actions)).toEqual([]); // the socket is already gone; nothing opens before the delay
  });

  it('a non-retryable error → failed.stopped at once, and pending work is rejected', () => {
    const [next, actions] = transition(
      clientMachine,
      walk({}, { type: 'client.connect' }),
      lostWith(AUTH_INVALID),
    );
    expect(next.value).toEqual({ failed: 'stopped' });
    expect(next.context).toMatchObject({ lastError: AUTH_INVALID, exhausted: false, attempt: 0 });
    expect(effects(actions)).toEqual(['abandonOutbox']);
  });

  it('bounded mode gives up after maxAttempts reconnects, into failed.exhausted (probing)', () => {
    let snapshot = walk({ maxAttempts: 2 }, { type: 'client.connect' });
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      seen.push(snapshot.value);
      if (snapshot.matches('reconnecting'))
        [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    expect(seen).toEqual([
      { reconnecting: 'waiting' },
      { reconnecting: 'waiting' },
      { failed: { exhausted: 'resting' } },
    ]);
    expect(snapshot.context).toMatchObject({ attempt: 2, exhausted: true });
  });

  it('maxAttempts: Infinity (the default) never gives up', () => {
    let snapshot = walk({}, { type: 'client.connect' });
    for (let i = 0; i < 50; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      expect(snapshot.value).toEqual({ reconnecting: 'waiting' });
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
  });

  it('queued frames move connecting to queued and re-arm its timer', () => {
    const opening = walk({}, { type: 'client.connect' }, tokenFetched());
    const queued: ClientEvent = { type: 'socket.queued', position: 3, estimatedWaitMs: 900 };
    const [first] = transition(clientMachine, opening, queued);
    expect(first.value).toEqual({ connecting: 'queued' });
    expect(first.context).toMatchObject({ queuePosition: 3, estimatedWaitMs: 900 });
    const [second, actions] = transition(clientMachine, first, { ...queued, position: 1 });
    expect(second.context.queuePosition).toBe(1);
    expect(actions.map((a) => a.type)).toEqual(expect.arrayContaining(['xstate.cancel', 'xstate.raise']));
    expect(effects(actions)).not.toContain('openSocket'); // the socket is kept
  });

  it('offline while connected → reconnecting.offline (no attempt spent) → online → connecting', () => {
    const connected = walk({}, { type: 'client.connect' }, welcomed);
    const [offline, actions] = transition(clientMachine, connected, { type: 'network.offline' });
    expect(offline.value).toEqual({ reconnecting: 'offline' });
    expect(offline.context.attempt).toBe(0);
    expect(offline.context.lastError?.code).toBe('NETWORK_OFFLINE');
    expect(effects(actions)).toEqual(['closeSocket']);
    const [online] = transition(clientMachine, offline, { type: 'network.online' });
    expect(online.value).toEqual({ connecting: 'authorizing' });
  });

  it('an attempt that ends while the network is down waits offline, spending no attempt, and says why', () => {
    const offline = { maxAttempts: 1, isOnline: () => false };
    // getToken() failed (a fetch without a network): no readiness check, no GATEWAY_UNREACHABLE.
    const noToken = walk(offline, { type: 'client.connect' }, tokenFailed(new TypeError('Failed to fetch')));
    expect(noToken.value).toEqual({ reconnecting: 'offline' });
    expect(noToken.context).toMatchObject({ attempt: 0, lastError: { code: 'NETWORK_OFFLINE' } });
    // A token came (a fixed one) but there is no network to open a socket on.
    const [noSocket, actions] = transition(
      clientMachine,
      walk(offline, { type: 'client.connect' }),
      tokenFetched(),
    );
    expect(noSocket.value).toEqual({ reconnecting: 'offline' });
    expect(effects(actions)).not.toContain('openSocket');
    // A loss while offline, however many times: never exhausted.
    let snapshot = noToken;
    for (let i = 0; i < 3; i++) {
      [snapshot] = transition(clientMachine, snapshot, { type: 'network.online' });
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
    }
    expect(snapshot.value).toEqual({ reconnecting: 'offline' });
    expect(snapshot.context.attempt).toBe(0);
    // The application's own verdict still stands.
    expect(walk(offline, { type: 'client.connect' }, tokenFailed(AUTH_INVALID)).value).toEqual({
      failed: 'stopped',
    });
  });

  it('online while waiting out a backoff retries at once — unless the server asked for the wait', () => {
    const waiting = walk({}, { type: 'client.connect' }, lostWith(CONNECTION_LOST));
    expect(waiting.value).toEqual({ reconnecting: 'waiting' });
    expect(transition(clientMachine, waiting, { type: 'network.online' })[0].value).toEqual({
      connecting: 'authorizing',
    });
    const asked = walk(
      {},
      { type: 'client.connect' },
      lostWith({ code: 'SERVER_BUSY', retryable: true, retryAfterMs: 2000, retryAfterFromServer: true }),
    );
    expect(transition(clientMachine, asked, { type: 'network.online' })[0].value).toEqual({
      reconnecting: 'waiting',
    });
  });

  it('page.visible retries at once — unless the server asked us to wait', () => {
    const free = walk({}, { type: 'client.connect' }, lostWith(CONNECTION_LOST));
    expect(transition(clientMachine, free, { type: 'page.visible' })[0].value).toEqual({
      connecting: 'authorizing',
    });
    const asked = walk(
      {},
      { type: 'client.connect' },
      lostWith({ code: 'SERVER_BUSY', retryable: true, retryAfterMs: 2000, retryAfterFromServer: true }),
    );
    expect(transition(clientMachine, asked, { type: 'page.visible' })[0].value).toEqual({
      reconnecting: 'waiting',
    });
    // A bare 1013 (no error frame): the wait is the registry's default, not the server's request.
    const bare = walk(
      {},
      { type: 'client.connect' },
      lostWith({ code: 'SERVER_BUSY', retryable: true, retryAfterMs: 2000 }),
    );
    expect(transition(clientMachine, bare, { type: 'page.visible' })[0].value).toEqual({
      connecting: 'authorizing',
    });
  });

  it('disconnect from connected → closed, gracefully (bye)', () => {
    const connected = walk({}, { type: 'client.connect' }, welcomed);
    const [next, actions] = transition(clientMachine, connected, { type: 'client.disconnect' });
    expect(next.value).toBe('closed');
    expect(actions.find((a) => a.type === 'closeSocket')?.params).toEqual({ graceful: true });
    expect(actions.find((a) => a.type === 'abandonOutbox')?.params).toEqual({ fatal: false });
  });

  it('connect from failed starts over with a fresh attempt count', () => {
    const failed = walk({ maxAttempts: 0 }, { type: 'client.connect' }, lostWith(CONNECTION_LOST));
    expect(failed.value).toEqual({ failed: { exhausted: 'resting' } });
    const [next] = transition(clientMachine, failed, { type: 'client.connect' });
    expect(next.value).toEqual({ connecting: 'authorizing' });
    expect(next.context.attempt).toBe(0);
  });
});

describe('client machine — backoff with an injected random source', () => {
  /** The delay planned for the nth consecutive loss. */
  function delays(
    random: () => number,
    count: number,
    failure: ClientFailure = CONNECTION_LOST,
    input: ClientMachineInput = {},
  ): number[] {
    let snapshot = walk({ random, ...input }, { type: 'client.connect' });
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(failure));
      out.push(snapshot.context.retryDelayMs);
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    return out;
  }

  it('stays within [window/2, window], window = min(30 s, 500 ms · 2^n): random → 1 and → 0', () => {
    expect(delays(() => 0.999_999, 9)).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
    // The floor: refused connections cannot draw near-zero delays and burn the attempts in a burst.
    expect(delays(() => 0, 9)).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect(delays(() => 0, 3, CONNECTION_LOST, { backoffFloor: 0 })).toEqual([0, 0, 0]); // plain full jitter
  });

  it('never comes back sooner than the server’s retryAfterMs, and takes it as sent', () => {
    const hinted = {
      code: 'ADMISSION_TIMEOUT',
      retryable: true,
      retryAfterMs: 5000,
      retryAfterFromServer: true,
    };
    expect(delays(() => 0, 3, hinted)).toEqual([5000, 5000, 5000]);
    expect(delays(() => 0.999_999, 6, hinted)).toEqual([5000, 5000, 5000, 5000, 7999, 15_999]);
  });

  it('jitters a registry default wait (a bare close code): never less, up to 20 % more, spread out', () => {
    const bare: ClientFailure = { code: 'SERVER_BUSY', retryable: true, retryAfterMs: 2000 };
    expect(delays(() => 0, 1, bare)).toEqual([2000]);
    expect(delays(() => 0.999_999, 1, bare)).toEqual([2400]);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_664_525 + 1_013_904_223) % 2 ** 32;
      return seed / 2 ** 32;
    };
    // 1000 clients a proxy closed with 1013 at the same moment: their first retries.
    const connecting = walk({ random }, { type: 'client.connect' });
    const firstRetries = Array.from(
      { length: 1000 },
      () => transition(clientMachine, connecting, lostWith(bare))[0].context.retryDelayMs,
    );
    expect(Math.min(...firstRetries)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...firstRetries)).toBeLessThanOrEqual(2400);
    expect(new Set(firstRetries).size).toBeGreaterThan(300); // not all in the same ms
  });

  it.each([
    { floor: 0, low: 0 },
    { floor: 0.5, low: 2000 },
  ])('spreads a crowd uniformly over [low, window] (floor $floor)', ({ floor, low }) => {
    // A seeded LCG stands in for Math.random: 4000 clients losing the same server.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_664_525 + 1_013_904_223) % 2 ** 32;
      return seed / 2 ** 32;
    };
    // Bring one client to its 4th attempt (window 4000 ms), then lose it many times over.
    let snapshot = walk({ random, backoffFloor: floor }, { type: 'client.connect' });
    for (let i = 0; i < 3; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    const connecting = snapshot;
    const samples = Array.from(
      { length: 4000 },
      () => transition(clientMachine, connecting, lostWith(CONNECTION_LOST))[0].context.retryDelayMs,
    );
    const width = (4000 - low) / 4;
    const buckets = [0, 0, 0, 0];
    for (const d of samples) buckets[Math.min(3, Math.floor((d - low) / width))]!++;
    for (const count of buckets) expect(count).toBeGreaterThan(900); // ≈1000 each
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(low);
    expect(Math.max(...samples)).toBeLessThan(4000);
  });
});

describe('client machine — timers and never-stranded paths (createActor, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  interface Script {
    /** What each readiness probe answers, in order; the last one repeats. */
    readiness?: GatewayReadiness[];
    token?: () => Promise<string | undefined>;
  }

  function start(input: ClientMachineInput, log: string[], script: Script = {}) {
    const answers = [...(script.readiness ?? ['ready'])];
    const actor = createActor(
      clientMachine.provide({
        actors: {
          fetchToken: fromPromise<string | undefined>(script.token ?? (async () => 'jwt')),
          probeGateway: fromPromise(async () => {
            const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
            log.push(`probe:${answer}`);
            return answer;
          }),
        },
        actions: {
          openSocket: () => log.push('open'),
          closeSocket: (_, { graceful }) => log.push(graceful ? 'bye' : 'close'),
          sendPing: () => log.push('ping'),
        },
      }),
      { input },
    );
    actor.start();
    return actor;
  }

  /** Every socket is refused the moment it opens, as with a gateway that is down. */
  function refuseEverySocket(actor: ReturnType<typeof start>, log: string[]) {
    let opened = 0;
    actor.subscribe(() => {
      const opens = log.filter((l) => l === 'open').length;
      if (opens > opened && actor.getSnapshot().matches({ connecting: 'opening' })) {
        opened = opens;
        queueMicrotask(() => actor.send(lostWith({ code: 'GATEWAY_UNREACHABLE', retryable: true })));
      }
    });
  }

  it('connect timeout → closes the socket and retries after the planned delay', async () => {
    const log: string[] = [];
    const actor = start({ connectTimeoutMs: 1000, random: () => 0.5 }, log);
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(999);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError?.code).toBe('CONNECT_TIMEOUT');
    expect(log).toEqual(['open', 'close']);
    await vi.advanceTimersByTimeAsync(375);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    expect(log).toEqual(['open', 'close', 'open']);
  });

  it('a getToken() that never answers times out into the gateway check', async () => {
    const log: string[] = [];
    const actor = start({ connectTimeoutMs: 1000 }, log, {
      token: () => new Promise<string | undefined>(() => {}),
      readiness: ['unreachable'],
    });
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError?.code).toBe('GATEWAY_UNREACHABLE');
    expect(log).toEqual(['probe:unreachable']);
  });

  it('heartbeat: a ping every pingIntervalMs while connected, dead socket when no pong in time', async () => {
    const log: string[] = [];
    const actor = start({ pingIntervalMs: 20_000, pongTimeoutMs: 10_000 }, log);
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(0);
    actor.send(welcomed);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(actor.getSnapshot().value).toMatchObject({ connected: { heartbeat: 'probing' } });
    actor.send({ type: 'heartbeat.pong' });
    expect(actor.getSnapshot().value).toMatchObject({ connected: { heartbeat: 'live' } });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError?.code).toBe('HEARTBEAT_TIMEOUT');
    expect(log).toEqual(['open', 'ping', 'ping', 'close']);
  });

  it('heartbeat on the line’s traffic: no ping while frames flow both ways, any frame answers one', async () => {
    const line = { heardAt: 0, sentAt: 0 };
    const log: string[] = [];
    const machine = clientMachine.provide({
      actions: {
        openSocket: () => log.push('open'),
        closeSocket: () => log.push('close'),
        sendPing: () => {
          line.sentAt = Date.now(); // as SocketLink counts it
          log.push('ping');
        },
      },
    });
    const input = { pingIntervalMs: 20_000, pongTimeoutMs: 10_000, lineActivity: () => line };
    const actor = createActor(machine, { input }).start();
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(0);
    line.heardAt = line.sentAt = Date.now();
    actor.send(welcomed);
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      line.heardAt = line.sentAt = Date.now(); // busy both ways for a minute
    }
    expect(log).toEqual(['open']);
    await vi.advanceTimersByTimeAsync(10_000);
    line.sentAt = Date.now(); // sending, but nothing heard for a period: a ping
    await vi.advanceTimersByTimeAsync(10_000);
    expect(log).toEqual(['open', 'ping']);
    line.heardAt = Date.now(); // not the pong (a refusal of the ping, say), but the gateway spoke
    await vi.advanceTimersByTimeAsync(10_000);
    expect(actor.getSnapshot().value).toMatchObject({ connected: { heartbeat: 'live' } });
    await vi.advanceTimersByTimeAsync(20_000); // then silence: the next ping goes unanswered
    expect(actor.getSnapshot().context.lastError?.code).toBe('HEARTBEAT_TIMEOUT');
    expect(log).toEqual(['open', 'ping', 'ping', 'close']);
  });

  it('page.visible cuts one backoff short per wait that ran its course, so tab flipping cannot spend every attempt', async () => {
    const log: string[] = [];
    const actor = start({ random: () => 0.5, maxAttempts: 10 }, log);
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(0);
    actor.send(welcomed);
    actor.send(lostWith(CONNECTION_LOST)); // the outage starts: attempt 1 planned
    for (let flip = 0; flip < 10; flip++) {
      actor.send({ type: 'page.visible' });
      await vi.advanceTimersByTimeAsync(0);
      if (actor.getSnapshot().matches('connecting')) actor.send(lostWith(CONNECTION_LOST)); // fails fast
    }
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.attempt).toBe(2); // one early retry, not ten
    expect(log.filter((l) => l === 'open')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs); // this wait runs its course
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    actor.send(lostWith(CONNECTION_LOST));
    actor.send({ type: 'page.visible' }); // allowed again
    expect(actor.getSnapshot().matches('connecting')).toBe(true);
  });

  it('a server hint holds the retry back for retryAfterMs', async () => {
    const log: string[] = [];
    const actor = start({ random: () => 0 }, log);
    actor.send({ type: 'client.connect' });
    actor.send(
      lostWith({ code: 'LOAD_SHED', retryable: true, retryAfterMs: 2000, retryAfterFromServer: true }),
    );
    await vi.advanceTimersByTimeAsync(1999);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().matches('connecting')).toBe(true);
  });

  it('by default a gateway down for an hour is retried all along, never faster than the floor allows', async () => {
    const log: string[] = [];
    const actor = start({ random: () => 0 }, log); // the worst luck: every delay at its floor
    refuseEverySocket(actor, log);
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(10_000);
    // 250 + 500 + 1000 + 2000 + 4000 ms of floors: 5 retries in the first 10 s, not a burst.
    expect(log.filter((l) => l === 'open')).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(3_600_000);
    const opens = log.filter((l) => l === 'open').length;
    expect(opens).toBeGreaterThan(200); // ≈ one every 15 s
    expect(opens).toBeLessThan(250);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    actor.stop();
  });

  it('bounded mode: once the attempts ran out, a slow jittered readiness probe brings the client back by itself', async () => {
    const log: string[] = [];
    const actor = start({ random: () => 0.5, maxAttempts: 3, probeIntervalMs: 30_000 }, log, {
      readiness: ['unreachable', 'not-ready', 'ready'],
    });
    refuseEverySocket(actor, log);
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(actor.getSnapshot().value).toEqual({ failed: { exhausted: 'resting' } });
    expect(actor.getSnapshot().context.exhausted).toBe(true);
    expect(log.filter((l) => l === 'open')).toHaveLength(4); // the first try and 3 reconnects
    await vi.advanceTimersByTimeAsync(60_000); // two probes, 30 s apart (random 0.5: no jitter offset)
    expect(log.filter((l) => l.startsWith('probe'))).toEqual(['probe:unreachable', 'probe:not-ready']);
    expect(actor.getSnapshot().matches('failed')).toBe(true);
    actor.send({ type: 'network.online' }); // the network came back: probe now, not in 30 s
    await vi.advanceTimersByTimeAsync(0);
    expect(log.slice(-2)).toEqual(['probe:ready', 'open']);
    // Still refused, but with a fresh budget of attempts: back to reconnecting, not failed.
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context).toMatchObject({ attempt: 1, exhausted: false });
    actor.stop();
  });

  it('a non-retryable failure is not probed: it waits for connect()', async () => {
    const log: string[] = [];
    const actor = start({}, log);
    actor.send({ type: 'client.connect' });
    actor.send(lostWith(AUTH_INVALID));
    await vi.advanceTimersByTimeAsync(600_000);
    actor.send({ type: 'network.online' });
    expect(actor.getSnapshot().value).toEqual({ failed: 'stopped' });
    expect(log).toEqual([]);
  });

  it('probeBeforeConnect: a gateway that is not ready is waited for without spending attempts', async () => {
    const log: string[] = [];
    const readiness: GatewayReadiness[] = [...Array(8).fill('not-ready'), 'ready'];
    const actor = start({ random: () => 0, maxAttempts: 2, probeBeforeConnect: true }, log, { readiness });
    actor.send({ type: 'client.connect' });
    await vi.advanceTimersByTimeAsync(0);
    actor.send(lostWith(CONNECTION_LOST));
    // Nine waits at their floors (250 ms … 15 s, 60.75 s in all), each followed by a check.
    await vi.advanceTimersByTimeAsync(61_000);
    expect(log.filter((l) => l.startsWith('probe'))).toHaveLength(9);
    expect(log.at(-1)).toBe('open'); // only once the gateway said ready
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    expect(actor.getSnapshot().context.attempt).toBe(1); // eight checks cost nothing
    expect(actor.getSnapshot().context.step).toBe(9); // but each one waited longer
    actor.stop();
  });
});

describe('client machine and SDK — defaults', () => {
  it('never strand a client without passing any: unbounded attempts, 500 ms → 30 s with a floor, queue of 1000', () => {
    const { options } = new TetherClient({ url: 'ws://127.0.0.1:1/ws', WebSocket: class {} });
    expect(options).toMatchObject({
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      backoffFloor: 0.5,
      maxReconnectAttempts: Number.POSITIVE_INFINITY,
      probeBeforeConnect: false,
      probeIntervalMs: 30_000,
      offlineQueueSize: 1000,
      connectTimeoutMs: 10_000,
      queueTimeoutMs: 60_000,
      pingIntervalMs: 20_000,
      pongTimeoutMs: 10_000,
    });
    const [snapshot] = initialTransition(clientMachine, {});
    expect(snapshot.context).toMatchObject({
      maxAttempts: options.maxReconnectAttempts,
      backoff: { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs, floor: options.backoffFloor },
      probeIntervalMs: options.probeIntervalMs,
      connectTimeoutMs: options.connectTimeoutMs,
      queueTimeoutMs: options.queueTimeoutMs,
      pingIntervalMs: options.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs,
    });
  });
});

describe('client machine and SDK — types', () => {
  it('accept only their own events, with their payloads', () => {
    const [idle] = initialTransition(clientMachine, {});
    // @ts-expect-error — not an event of this machine
    transition(clientMachine, idle, { type: 'socket.opened' });
    // @ts-expect-error — socket.closed carries its failure
    transition(clientMachine, idle, { type: 'socket.closed' });
    const client = new TetherClient({ url: 'ws://127.0.0.1:1/ws', WebSocket: class {} });
    // @ts-expect-error — the emitter has no such event
    client.on('message', () => {});
    client.on('event', (event) => {
      // @ts-expect-error — event IDs are strings (stream IDs), not numbers
      const id: number = event.id;
      return id;
    });
    client.on('state', ({ newState }) => {
      // @ts-expect-error — not a state of the client
      if (newState === 'open') return;
    });
    expect(() => new TetherClient({ url: 'http://x/ws' })).toThrow('url must use ws:// or wss://');
    expect(() => new TetherClient({ url: 'ws://x/ws', backoffBaseMs: -1 })).toThrow('backoffBaseMs');
    expect(() => new TetherClient({ url: 'ws://x/ws', backoffFloor: 2 })).toThrow('backoffFloor');
    expect(() => new TetherClient({ url: 'ws://x/ws', maxReconnectAttempts: 1.5 })).toThrow(
      'maxReconnectAttempts',
    );
    // The gateway would refuse each hello with it (MALFORMED_MESSAGE): caught before a socket opens.
    for (const correlationId of ['a\nb', 'two words', 'x'.repeat(129)])
      expect(() => new TetherClient({ url: 'ws://x/ws', correlationId })).toThrow('correlationId');
    expect(() => new TetherClient({ url: 'ws://x/ws', correlationId: 'req-1' })).not.toThrow();
  });
});
