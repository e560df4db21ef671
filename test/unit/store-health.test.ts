/**
 * src/redis/store-health.ts against a real redis-server: a Redis that stops answering
 * is reported down once its PING times out, and up once it answers; a gateway whose own
 * loop stalls past the timeout, while Redis answered in time, does not call Redis down
 * (it would refuse every hello with STORE_UNAVAILABLE for its own lag), nor a Redis busy
 * answering this process's own queue (a storm's resumes); and which errors
 * from the store mean it cannot serve for now (src/redis/store-errors.ts).
 */
import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreStalledError } from '../../src/core/ports/store-readiness.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { isRefusedUnrun } from '../../src/redis/store-errors.ts';
import { StoreHealth } from '../../src/redis/store-health.ts';
import { UnansweredOnDropError } from '../../src/redis/unanswered-on-drop.ts';
import { eventually } from '../support/events.ts';

const TIMEOUT_MS = 100;
/** A Lua script that keeps Redis busy for ARGV[1] µs. */
const SPIN = `local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - start >= tonumber(ARGV[1])
return 1`;

let server: RedisServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  await redis.ping();
});

afterAll(async () => {
  server.process.kill('SIGCONT');
  redis.disconnect();
  await server.stop();
});

/** Measures once at start (the next PING is a minute away); every round trip it reports. */
function startHealth(timeoutMs = TIMEOUT_MS): { health: StoreHealth; trips: number[] } {
  const trips: number[] = [];
  const health = new StoreHealth(redis, {
    pingMs: 60_000,
    timeoutMs,
    onRoundTrip: (ms) => trips.push(ms),
  });
  health.start();
  return { health, trips };
}

describe('store health', () => {
  it("does not call Redis down for the gateway's own stalled loop", async () => {
    const { health, trips } = startHealth();
    // The PING is on the wire; the loop now stalls three timeouts long. Redis answers
    // meanwhile, and the answer waits unread until the loop polls again.
    const until = Date.now() + 3 * TIMEOUT_MS;
    while (Date.now() < until) {
      // a synchronous stall, as a long turn of handshakes would be
    }
    await eventually(async () => trips.length > 0, 'the round trip measured');
    expect(health.isReady()).toBe(true);
    expect(trips[0]).toBeGreaterThan(TIMEOUT_MS); // measured as slow as the loop made it, not a timeout
    health.stop();
  });

  it('does not call a Redis busy with our own commands down while it answers them', async () => {
    // Scripts of 30 ms each on the connection the PING goes on: the PING waits behind
    // 1.8 s of them, six timeouts long, while Redis answers one every 30 ms — ten in each
    // timeout, so a box too busy to run Redis for a few of them still shows it answering.
    // (Each carries 8 KB: Redis reads 16 KB of a client's commands at a time and answers
    // them together, so small ones sent at once would be answered all at the end, as a
    // storm's are not: it writes its commands turn by turn.)
    const timeoutMs = 300;
    const ballast = 'x'.repeat(8192);
    const busy = Array.from({ length: 60 }, () => redis.eval(SPIN, 0, 30_000, ballast));
    const { health, trips } = startHealth(timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 2 * timeoutMs));
    expect(health.isReady()).toBe(true);
    await Promise.all(busy);
    await eventually(async () => trips.length > 0, 'the round trip measured');
    expect(health.isReady()).toBe(true);
    expect(trips[0]).toBeGreaterThan(4 * timeoutMs);
    health.stop();
  });

  it('calls a Redis that stops answering down after the timeout, and up once it answers', async () => {
    server.process.kill('SIGSTOP');
    const { health, trips } = startHealth();
    try {
      await eventually(async () => !health.isReady(), 'reported down');
      expect(trips).toHaveLength(1);
      // As slow as it was found: the timeout, less the ms a timer may fire early by.
      expect(trips[0]).toBeGreaterThan(TIMEOUT_MS - 2);
    } finally {
      server.process.kill('SIGCONT');
    }
    await eventually(async () => health.isReady(), 'reported up again');
    health.stop();
  });
});

describe('which store errors mean "not now" (STORE_UNAVAILABLE) rather than a fault (INTERNAL)', () => {
  it('the errors ioredis gives when it cannot reach a server, and Redis replies that say it cannot serve yet', async () => {
    const { health } = startHealth();
    health.stop();
    const unreachable = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    unreachable.on('error', () => {}); // the refused connect: what the command gets is the point
    const closed = await unreachable.ping().catch((error: unknown) => error);
    unreachable.disconnect();
    expect(health.isUnavailable(closed), String(closed)).toBe(true);
    const gone = new Redis(server.url, { lazyConnect: true });
    gone.disconnect();
    expect(health.isUnavailable(await gone.ping().catch((error: unknown) => error))).toBe(true);
    for (const reply of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing',
      'LOADING Redis is loading the dataset in memory',
      'MOVED 3999 127.0.0.1:6381',
      "OOM command not allowed when used memory > 'maxmemory'. script: 53a3c3, on @user_script:74.",
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
    ])
      expect(health.isUnavailable(new ReplyError(reply)), reply).toBe(true);
    expect(health.isUnavailable(new StoreStalledError('frozen'))).toBe(true);
    expect(health.isUnavailable(new UnansweredOnDropError())).toBe(true);
  });

  it('a MULTI Redis discarded (EXECABORT) for a queued command it refused: unavailable, and nothing of it ran', async () => {
    const { health } = startHealth();
    health.stop();
    const key = `multi:${Date.now()}`;
    await redis.config('SET', 'maxmemory', '1'); // every command that may grow memory is refused
    const discarded = await redis
      .multi()
      .del(key)
      .set(key, 'x')
      .exec()
      .catch((error: unknown) => error)
      .finally(() => redis.config('SET', 'maxmemory', '0'));
    expect(String(discarded)).toMatch(/EXECABORT/);
    expect(health.isUnavailable(discarded)).toBe(true);
    expect(isRefusedUnrun(discarded)).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    // Discarded for a fault in what was asked, it stays a fault.
    const wrong = await redis
      .multi()
      .call('NOSUCHCOMMAND')
      .exec()
      .catch((error: unknown) => error);
    expect(String(wrong)).toMatch(/EXECABORT/);
    expect(health.isUnavailable(wrong)).toBe(false);
  });

  it('a reply that refuses the request, and a plain bug, are not', async () => {
    const { health } = startHealth();
    health.stop();
    const key = `wrongtype:${Date.now()}`;
    await redis.set(key, 'x');
    const wrongType = await redis.xadd(key, '*', 'a', 'b').catch((error: unknown) => error);
    expect(String(wrongType)).toMatch(/WRONGTYPE/);
    expect(health.isUnavailable(wrongType)).toBe(false);
    expect(health.isUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
  });
});
