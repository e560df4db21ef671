/**
 * machines/client.machine.ts: pure `initialTransition` / `transition` (which state,
 * which effects would run — none are executed), the backoff it plans with an
 * injected random source, and timing with `createActor` + fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import {
  type ClientEvent,
  type ClientFailure,
  type ClientMachineInput,
  clientMachine,
} from '../../machines/client.machine.ts';
import { TetherClient } from '../../packages/client/src/index.ts';

const lostWith = (failure: ClientFailure): ClientEvent => ({ type: 'socket.closed', failure });
const CONNECTION_LOST: ClientFailure = { code: 'CONNECTION_LOST', retryable: true };
const AUTH_INVALID: ClientFailure = { code: 'AUTH_INVALID_TOKEN', retryable: false };
const welcomed: ClientEvent = { type: 'socket.welcomed', sessionId: 's-1' };

/** Effects a step would run: XState's own bookkeeping and assign() (context only) are not effects. */
function effects(actions: readonly { type: string }[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));
}

function walk(input: ClientMachineInput, ...events: ClientEvent[]) {
  let [snapshot] = initialTransition(clientMachine, input);
  for (const event of events) [snapshot] = transition(clientMachine, snapshot, event);
  return snapshot;
}

describe('client machine — pure transitions', () => {
  it('starts idle and does nothing until asked', () => {
    const [snapshot, actions] = initialTransition(clientMachine, {});
    expect(snapshot.value).toBe('idle');
    expect(effects(actions)).toEqual([]);
    expect(snapshot.context).toMatchObject({ maxAttempts: 10, backoff: { baseMs: 500, maxMs: 30_000 } });
  });

  it('client.connect → connecting.opening, and opens a socket', () => {
    const [idle] = initialTransition(clientMachine, {});
    const [next, actions] = transition(clientMachine, idle, { type: 'client.connect' });
    expect(next.value).toEqual({ connecting: 'opening' });
    expect(effects(actions)).toEqual(['openSocket']);
  });

  it('welcome → connected.live: attempts reset, the offline queue flushed', () => {
    const connecting = walk({}, { type: 'client.connect' });
    const [next, actions] = transition(clientMachine, connecting, welcomed);
    expect(next.value).toEqual({ connected: 'live' });
    expect(next.context.sessionId).toBe('s-1');
    expect(next.context.attempt).toBe(0);
    expect(effects(actions)).toEqual(['flushOutbox']);
  });

  it('a retryable loss while connected → reconnecting.waiting with a planned delay', () => {
    const connected = walk({ random: () => 0.5 }, { type: 'client.connect' }, welcomed);
    const [next, actions] = transition(clientMachine, connected, lostWith(CONNECTION_LOST));
    expect(next.value).toEqual({ reconnecting: 'waiting' });
    expect(next.context.attempt).toBe(1);
    expect(next.context.retryDelayMs).toBe(250); // 0.5 × min(30 000, 500 × 2^0)
    expect(next.context.lastError).toEqual(CONNECTION_LOST);
    expect(effects(actions)).toEqual([]); // the socket is already gone; nothing opens before the delay
  });

  it('a non-retryable error → failed at once, and pending work is rejected', () => {
    const connecting = walk({}, { type: 'client.connect' });
    const [next, actions] = transition(clientMachine, connecting, lostWith(AUTH_INVALID));
    expect(next.value).toBe('failed');
    expect(next.context).toMatchObject({ lastError: AUTH_INVALID, exhausted: false, attempt: 0 });
    expect(effects(actions)).toEqual(['abandonOutbox']);
  });

  it('gives up after maxAttempts reconnects, marking the failure as exhaustion', () => {
    let snapshot = walk({ maxAttempts: 2 }, { type: 'client.connect' });
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      seen.push(snapshot.value);
      if (snapshot.value !== 'failed')
        [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    expect(seen).toEqual([{ reconnecting: 'waiting' }, { reconnecting: 'waiting' }, 'failed']);
    expect(snapshot.context).toMatchObject({ attempt: 2, exhausted: true });
  });

  it('maxAttempts: Infinity never gives up', () => {
    let snapshot = walk({ maxAttempts: Number.POSITIVE_INFINITY }, { type: 'client.connect' });
    for (let i = 0; i < 50; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      expect(snapshot.value).toEqual({ reconnecting: 'waiting' });
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
  });

  it('queued frames move connecting to queued and re-arm its timer', () => {
    const connecting = walk({}, { type: 'client.connect' });
    const queued: ClientEvent = { type: 'socket.queued', position: 3, estimatedWaitMs: 900 };
    const [first] = transition(clientMachine, connecting, queued);
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
    expect(online.value).toEqual({ connecting: 'opening' });
  });

  it('page.visible retries at once — unless the server asked us to wait', () => {
    const free = walk({}, { type: 'client.connect' }, lostWith(CONNECTION_LOST));
    expect(transition(clientMachine, free, { type: 'page.visible' })[0].value).toEqual({
      connecting: 'opening',
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
      connecting: 'opening',
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
    expect(failed.value).toBe('failed');
    const [next] = transition(clientMachine, failed, { type: 'client.connect' });
    expect(next.value).toEqual({ connecting: 'opening' });
    expect(next.context.attempt).toBe(0);
  });
});

describe('client machine — backoff with an injected random source', () => {
  /** The delay planned for the nth consecutive loss. */
  function delays(random: () => number, count: number, failure: ClientFailure = CONNECTION_LOST): number[] {
    let snapshot = walk({ random, maxAttempts: Number.POSITIVE_INFINITY }, { type: 'client.connect' });
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(failure));
      out.push(snapshot.context.retryDelayMs);
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    return out;
  }

  it('stays within [0, min(30 s, 500 ms · 2^n)]: the ceilings with random → 1', () => {
    const almostOne = () => 0.999_999;
    expect(delays(almostOne, 9)).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
    expect(delays(() => 0, 9).every((d) => d === 0)).toBe(true);
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
    const [connecting] = transition(clientMachine, initialTransition(clientMachine, { random })[0], {
      type: 'client.connect',
    });
    const firstRetries = Array.from(
      { length: 1000 },
      () => transition(clientMachine, connecting, lostWith(bare))[0].context.retryDelayMs,
    );
    expect(Math.min(...firstRetries)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...firstRetries)).toBeLessThanOrEqual(2400);
    expect(new Set(firstRetries).size).toBeGreaterThan(300); // not all in the same ms
  });

  it('spreads a crowd uniformly over the window (full jitter)', () => {
    // A seeded LCG stands in for Math.random: 4000 clients losing the same server.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_664_525 + 1_013_904_223) % 2 ** 32;
      return seed / 2 ** 32;
    };
    // Bring one client to its 4th attempt (window 4000 ms), then lose it many times over.
    let [snapshot] = initialTransition(clientMachine, { random, maxAttempts: Number.POSITIVE_INFINITY });
    [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    for (let i = 0; i < 3; i++) {
      [snapshot] = transition(clientMachine, snapshot, lostWith(CONNECTION_LOST));
      [snapshot] = transition(clientMachine, snapshot, { type: 'client.connect' });
    }
    const connecting = snapshot;
    const samples = Array.from(
      { length: 4000 },
      () => transition(clientMachine, connecting, lostWith(CONNECTION_LOST))[0].context.retryDelayMs,
    );
    const buckets = [0, 0, 0, 0];
    for (const d of samples) buckets[Math.min(3, Math.floor(d / 1000))]!++;
    for (const count of buckets) expect(count).toBeGreaterThan(900); // ≈1000 each
    expect(Math.max(...samples)).toBeLessThan(4000);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(1900);
    expect(mean).toBeLessThan(2100);
  });
});

describe('client machine — timers (createActor, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(input: ClientMachineInput, log: string[]) {
    const actor = createActor(
      clientMachine.provide({
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

  it('connect timeout → closes the socket and retries after the planned delay', () => {
    const log: string[] = [];
    const actor = start({ connectTimeoutMs: 1000, random: () => 0.5 }, log);
    actor.send({ type: 'client.connect' });
    vi.advanceTimersByTime(999);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError?.code).toBe('CONNECT_TIMEOUT');
    expect(log).toEqual(['open', 'close']);
    vi.advanceTimersByTime(250);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    expect(log).toEqual(['open', 'close', 'open']);
  });

  it('heartbeat: a ping every pingIntervalMs while connected, dead socket when no pong in time', () => {
    const log: string[] = [];
    const actor = start({ pingIntervalMs: 20_000, pongTimeoutMs: 10_000 }, log);
    actor.send({ type: 'client.connect' });
    actor.send(welcomed);
    vi.advanceTimersByTime(20_000);
    expect(actor.getSnapshot().value).toEqual({ connected: 'probing' });
    actor.send({ type: 'heartbeat.pong' });
    expect(actor.getSnapshot().value).toEqual({ connected: 'live' });
    vi.advanceTimersByTime(30_000);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError?.code).toBe('HEARTBEAT_TIMEOUT');
    expect(log).toEqual(['open', 'ping', 'ping', 'close']);
  });

  it('page.visible cuts one backoff short per wait that ran its course, so tab flipping cannot spend every attempt', () => {
    const log: string[] = [];
    const actor = start({ random: () => 0.5, maxAttempts: 10 }, log);
    actor.send({ type: 'client.connect' });
    actor.send(welcomed);
    actor.send(lostWith(CONNECTION_LOST)); // the outage starts: attempt 1 planned
    for (let flip = 0; flip < 10; flip++) {
      actor.send({ type: 'page.visible' });
      if (actor.getSnapshot().matches('connecting')) actor.send(lostWith(CONNECTION_LOST)); // fails fast
    }
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.attempt).toBe(2); // one early retry, not ten
    expect(log.filter((l) => l === 'open')).toHaveLength(2);
    vi.advanceTimersByTime(actor.getSnapshot().context.retryDelayMs); // this wait runs its course
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
    actor.send(lostWith(CONNECTION_LOST));
    actor.send({ type: 'page.visible' }); // allowed again
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
  });

  it('a server hint holds the retry back for retryAfterMs', () => {
    const log: string[] = [];
    const actor = start({ random: () => 0 }, log);
    actor.send({ type: 'client.connect' });
    actor.send(
      lostWith({ code: 'LOAD_SHED', retryable: true, retryAfterMs: 2000, retryAfterFromServer: true }),
    );
    vi.advanceTimersByTime(1999);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
  });
});

describe('client machine and SDK — defaults', () => {
  it('are the seeds’ values without passing any: 500 ms → 30 s backoff, 10 attempts, queue of 1000', () => {
    const { options } = new TetherClient({ url: 'ws://127.0.0.1:1/ws', WebSocket: class {} });
    expect(options).toMatchObject({
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      maxReconnectAttempts: 10,
      offlineQueueSize: 1000,
      connectTimeoutMs: 10_000,
      queueTimeoutMs: 60_000,
      pingIntervalMs: 20_000,
      pongTimeoutMs: 10_000,
    });
    const [snapshot] = initialTransition(clientMachine, {});
    expect(snapshot.context).toMatchObject({
      maxAttempts: options.maxReconnectAttempts,
      backoff: { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs },
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
    expect(() => new TetherClient({ url: 'ws://x/ws', maxReconnectAttempts: 1.5 })).toThrow(
      'maxReconnectAttempts',
    );
  });
});
