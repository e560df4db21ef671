/**
 * src/redis/turn-writes.ts on a real redis-server: a turn's commands reach Redis in
 * one read, in the order given, and the corking survives what a connection goes
 * through (a killed connection, commands across turns).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { writeOncePerTurn } from '../../src/redis/turn-writes.ts';

let server: RedisServerHandle;
let observer: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  observer = new Redis(server.url);
});

afterAll(async () => {
  observer.disconnect();
  await server.stop();
});

/** Read events Redis has processed, over all its connections (INFO stats, Redis ≥ 6). */
async function readsProcessed(): Promise<number> {
  const stats = await observer.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(stats)?.[1]);
}

function connect(corked: boolean): Redis {
  const redis = new Redis(server.url, { enableAutoPipelining: false });
  if (corked) writeOncePerTurn(redis);
  return redis;
}

/** Commands in a turn below the batch bound (turn-writes.ts MAX_HELD_COMMANDS). */
const TURN = 30;

/** `count` RPUSHes to `key` from one synchronous loop (one turn), and the replies. */
function pushInOneTurn(redis: Redis, key: string, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => redis.rpush(key, String(i))));
}

describe('one write per turn', () => {
  it("sends a turn's commands in one write that Redis reads once, replies in order", async () => {
    const redis = connect(true);
    await redis.ping();
    const before = await readsProcessed();
    const lengths = await pushInOneTurn(redis, 'turn:one', TURN);
    const reads = (await readsProcessed()) - before;
    expect(lengths).toEqual(Array.from({ length: TURN }, (_, i) => i + 1));
    expect(await redis.lrange('turn:one', 0, -1)).toEqual(Array.from({ length: TURN }, (_, i) => String(i)));
    // The pushes and the observer's second INFO: one read each.
    expect(reads).toBe(2);
    redis.disconnect();
  });

  it('without it, the same turn leaves in many writes (what the test above would catch)', async () => {
    const redis = connect(false);
    await redis.ping();
    const before = await readsProcessed();
    await pushInOneTurn(redis, 'turn:plain', TURN);
    expect((await readsProcessed()) - before).toBeGreaterThan(2);
    redis.disconnect();
  });

  it("lets a long turn's commands leave 32 at a time, so Redis need not wait for the turn to end", async () => {
    const redis = connect(true);
    await redis.ping();
    const pushes: Promise<number>[] = [];
    for (let i = 0; i < 31; i++) pushes.push(redis.rpush('turn:long', String(i)));
    expect(redis.stream.writableCorked).toBe(1); // held
    pushes.push(redis.rpush('turn:long', '31'));
    expect(redis.stream.writableCorked).toBe(0); // gone to the kernel, the turn not over
    expect(redis.stream.writableLength).toBe(0);
    await Promise.all(pushes);
    redis.disconnect();
  });

  it('releases the socket at the end of each turn: commands of later turns are answered too', async () => {
    const redis = connect(true);
    for (let turn = 0; turn < 20; turn++) {
      expect(await redis.incr('turn:count')).toBe(turn + 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    redis.disconnect();
  });

  it('sends what was given while its connection was cut once it is back, in order', async () => {
    const redis = connect(true);
    await redis.client('SETNAME', 'turn-writes-cut');
    const reconnected = new Promise((resolve) => redis.once('ready', resolve));
    await observer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const lengths = await pushInOneTurn(redis, 'turn:cut', 50);
    await reconnected;
    expect(lengths).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await redis.lrange('turn:cut', 0, -1)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    redis.disconnect();
  });
});
