/**
 * A test's own connection to the run's Redis, to look at or tamper with keys, made by
 * the gateway's own factory (src/redis/redis-target.ts) so it follows whatever REDIS_URL
 * names: one server, a cluster (commands routed by slot) or a Sentinel's master.
 */
import type { RedisOptions } from 'ioredis';
import { inject } from 'vitest';
import { createRedisClient, parseRedisUrl, type RedisConnection } from '../../src/redis/redis-target.ts';

export function connectTestRedis(
  url: string = inject('redisUrl'),
  options: RedisOptions = {},
): RedisConnection {
  return createRedisClient(parseRedisUrl(url), options);
}
