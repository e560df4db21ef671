/**
 * The embedded Redis default (issue 2, "What a user must be able to do" 1): with
 * REDIS_URL unset, a Redis answering at the local address is used; else a private
 * redis-server from PATH is started (free port, no persistence, temp dir) and is
 * gone after stop; with neither, the error says how to fix it.
 *
 * The machine's own Redis on 6379 is never touched: "nothing answers locally" is
 * a probe of a free port.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePort,
  type RedisServerHandle,
  RedisUnavailableError,
  redisAnswers,
  resolveRedis,
  startRedisServer,
} from '../../src/redis/embedded-redis.ts';

const servers: RedisServerHandle[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A local address where nothing listens, standing in for "no Redis on 127.0.0.1:6379". */
async function nothingListening() {
  return { host: '127.0.0.1', port: await freePort() };
}

describe('resolveRedis with REDIS_URL unset', () => {
  it('uses the configured URL as it is, starting nothing', async () => {
    const resolved = await resolveRedis('redis://redis.internal:6380', { local: await nothingListening() });
    expect(resolved).toEqual({ url: 'redis://redis.internal:6380', source: 'configured' });
  });

  it('uses a Redis that answers at the local address', async () => {
    const local = await startRedisServer();
    servers.push(local);
    const resolved = await resolveRedis(undefined, { local: { host: '127.0.0.1', port: local.port } });
    expect(resolved).toEqual({ url: `redis://127.0.0.1:${local.port}`, source: 'local' });
  });

  it('else starts a private redis-server: it answers, keeps nothing on disk, and is gone after stop', async () => {
    const resolved = await resolveRedis(undefined, { local: await nothingListening() });
    expect(resolved.source).toBe('private');
    const server = resolved.server as RedisServerHandle;
    expect(resolved.url).toBe(`redis://127.0.0.1:${server.port}`);

    const redis = new Redis(resolved.url);
    try {
      expect(await redis.ping()).toBe('PONG');
      await redis.set('k', 'v');
      expect(await redis.get('k')).toBe('v');
      // No persistence, in its own temp dir.
      expect(await redis.config('GET', 'save')).toEqual(['save', '']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      const [, dir] = (await redis.config('GET', 'dir')) as [string, string];
      expect(dir).toBe(server.dir);
      expect(dir.startsWith(tmpdir())).toBe(true);
      expect(existsSync(dir)).toBe(true);
    } finally {
      redis.disconnect();
    }

    await server.stop();
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
    expect(await redisAnswers('127.0.0.1', server.port)).toBe(false);
    await server.stop(); // idempotent
  });

  it('with no local Redis and no redis-server on PATH, the error says how to fix it', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'tether-no-redis-'));
    dirs.push(emptyPath);
    const attempt = resolveRedis(undefined, {
      local: await nothingListening(),
      server: { searchPath: emptyPath },
    });
    await expect(attempt).rejects.toBeInstanceOf(RedisUnavailableError);
    const message = await attempt.catch((error: Error) => error.message);
    expect(message).toMatch(/could not start redis-server \(.*ENOENT\)/);
    expect(message).toContain('apt-get install redis-server');
    expect(message).toContain('REDIS_URL=redis://host:port');
  });
});
