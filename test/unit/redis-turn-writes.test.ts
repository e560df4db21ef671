/**
 * src/redis/turn-writes.ts on a real redis-server: a turn's commands reach Redis in
 * one read, in the order given, and the corking survives what a connection goes
 * through (a killed connection, commands across turns).
 */
import { type Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { createRedisClient, parseRedisUrl } from '../../src/redis/redis-target.ts';
import { writeOncePerTurn } from '../../src/redis/turn-writes.ts';
import { startRedisCluster, type TestCluster } from '../support/redis-cluster.ts';

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
async function readsProcessed(node: Redis = observer): Promise<number> {
  const stats = await node.info('stats');
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
function pushInOneTurn(redis: Redis | Cluster, key: string, count: number): Promise<number[]> {
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

describe('one write per turn on a cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("sends each node its share of a turn's commands in one write, replies in order", async () => {
    const redis = createRedisClient(parseRedisUrl(cluster.url), {});
    writeOncePerTurn(redis);
    const keys = ['{a}turn', '{b}turn', '{c}turn'];
    await Promise.all(keys.map((key) => redis.del(key))); // every node's connection made
    const before = await Promise.all(cluster.masters.map((node) => readsProcessed(node.redis)));
    const lengths = await Promise.all(keys.map((key) => pushInOneTurn(redis, key, TURN)));
    const after = await Promise.all(cluster.masters.map((node) => readsProcessed(node.redis)));
    for (const replies of lengths) expect(replies).toEqual(Array.from({ length: TURN }, (_, i) => i + 1));
    for (const key of keys)
      expect(await redis.lrange(key, 0, -1)).toEqual(Array.from({ length: TURN }, (_, i) => String(i)));
    // Per master: one read for the turn's pushes and one for the second INFO (and room for
    // the client's slot-map refresh, every 2 s, to fall in between); written one by one,
    // each master reads several.
    const reads = after.map((n, i) => n - (before[i] as number));
    expect(reads.every((n) => n <= 3)).toBe(true);
    expect(reads.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(4); // the pushes reached more than one node
    redis.disconnect();
  });
});
