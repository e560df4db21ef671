/**
 * src/redis/lua-scripts.ts on a real redis-server: a script runs with its arguments as
 * given, its text goes once per socket, and a server that lost its script cache (SCRIPT
 * FLUSH, a restart) costs a retry, never an error or a reordering.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { defineScripts, LuaScript } from '../../src/redis/lua-scripts.ts';

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

/** RPUSH ARGV[1] onto KEYS[1], then answer the list's length and the arguments as Redis saw them. */
const PUSH = new LuaScript(
  `local n = redis.call('RPUSH', KEYS[1], ARGV[1]) return { n, ARGV[1], ARGV[2], ARGV[3] }`,
  1,
);

/** Calls of EVAL and EVALSHA the server has run, and NOSCRIPT errors it answered (INFO, Redis ≥ 7). */
async function scriptStats(): Promise<{ eval: number; evalsha: number; noscript: number }> {
  const info = `${await observer.info('commandstats')}${await observer.info('errorstats')}`;
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return {
    eval: calls('eval'),
    evalsha: calls('evalsha'),
    noscript: Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(info)?.[1] ?? 0),
  };
}

async function since(before: { eval: number; evalsha: number; noscript: number }) {
  const now = await scriptStats();
  return {
    eval: now.eval - before.eval,
    evalsha: now.evalsha - before.evalsha,
    noscript: now.noscript - before.noscript,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => String(i));

describe('Lua scripts', () => {
  it('runs with its keys and arguments, numbers included; the text goes once per socket', async () => {
    const redis = new Redis(server.url);
    const before = await scriptStats();
    expect(await PUSH.run(redis, ['lua:args', 'a', 42, ''])).toEqual([1, 'a', '42', '']);
    expect(await PUSH.run(redis, ['lua:args', 'b', 7.5, 'x'])).toEqual([2, 'b', '7.5', 'x']);
    expect(await since(before)).toEqual({ eval: 1, evalsha: 1, noscript: 0 });
    redis.disconnect();
  });

  it('after SCRIPT FLUSH, calls in flight are retried with the text, in the order they were made', async () => {
    const redis = new Redis(server.url);
    await PUSH.run(redis, ['lua:flush', 'first']);
    await observer.script('FLUSH');
    const before = await scriptStats();
    const lengths = await Promise.all(range(50).map((i) => PUSH.run(redis, ['lua:flush', i])));
    expect(lengths.map((reply) => (reply as number[])[0])).toEqual(range(50).map((i) => Number(i) + 2));
    expect(await redis.lrange('lua:flush', 1, -1)).toEqual(range(50));
    // All 50 found the cache empty, then one retry carried the text and the rest used its SHA.
    expect(await since(before)).toEqual({ eval: 1, evalsha: 99, noscript: 50 });
    redis.disconnect();
  });

  it('a restarted server (cache empty, new socket) is sent the text first: no NOSCRIPT, nothing reordered', async () => {
    const redis = new Redis(server.url);
    await PUSH.run(redis, ['lua:restart', 'before']);
    // What a restart leaves: an empty script cache, and the connection gone (ioredis reconnects).
    await observer.script('FLUSH');
    await observer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const before = await scriptStats();
    const lengths = await Promise.all(range(20).map((i) => PUSH.run(redis, ['lua:restart', i])));
    expect(lengths.map((reply) => (reply as number[])[0])).toEqual(range(20).map((i) => Number(i) + 2));
    expect(await redis.lrange('lua:restart', 1, -1)).toEqual(range(20));
    expect(await since(before)).toEqual({ eval: 1, evalsha: 19, noscript: 0 });
    redis.disconnect();
  });

  it('on a pipeline: a NOSCRIPT comes back as the entry’s error, and the next pipeline carries the text', async () => {
    const redis = new Redis(server.url);
    await PUSH.run(redis, ['lua:pipe', 'first']);
    await observer.script('FLUSH');
    const send = () => {
      const pipeline = redis.pipeline();
      PUSH.queue(pipeline, ['lua:pipe', 'p']);
      pipeline.llen('lua:pipe');
      return pipeline.exec() as Promise<[[Error | null, unknown], [Error | null, unknown]]>;
    };
    const [[error], [, lengthAfterFailure]] = await send();
    expect(String(error)).toContain('NOSCRIPT');
    expect(lengthAfterFailure).toBe(1);
    const [[retryError, reply]] = await send();
    expect(retryError).toBeNull();
    expect((reply as number[])[0]).toBe(2);
    redis.disconnect();
  });

  it('defineScripts gives the connection a method per script, and leaves a name already there', async () => {
    const redis = new Redis(server.url) as Redis & { tetherTestPush(...args: unknown[]): Promise<number[]> };
    defineScripts(redis, { tetherTestPush: PUSH });
    const defined = redis.tetherTestPush;
    defineScripts(redis, { tetherTestPush: new LuaScript('return 0', 0) });
    expect(redis.tetherTestPush).toBe(defined);
    expect((await redis.tetherTestPush('lua:method', 'm'))[0]).toBe(1);
    redis.disconnect();
  });
});
