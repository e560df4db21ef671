/**
 * The run's Redis, started once per vitest project (tests that kill Redis start their
 * own): one redis-server, or — when the project's env sets REDIS_TOPOLOGY — a 3-master
 * Redis Cluster or a Sentinel-watched master with a replica (test/support/redis-cluster.ts),
 * so the same test files run on every topology REDIS_URL can name (vitest.config.ts).
 * Its URL reaches tests through `inject('redisUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/redis/embedded-redis.ts';
import { startRedisCluster, startRedisSentinel } from './redis-cluster.ts';

export type RedisTopology = 'standalone' | 'cluster' | 'sentinel';

async function startTopology(topology: RedisTopology): Promise<{ url: string; stop(): Promise<void> }> {
  if (topology === 'cluster') return startRedisCluster({ masters: 3 });
  if (topology === 'sentinel') return startRedisSentinel();
  return startRedisServer();
}

/** Returns the project's teardown: every project's set-up (the root's too) runs in this one module, side by side. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const topology = (project.config.env?.REDIS_TOPOLOGY ?? 'standalone') as RedisTopology;
  const started = await startTopology(topology);
  project.provide('redisUrl', started.url);
  project.provide('redisTopology', topology);
  return () => started.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisTopology: RedisTopology;
  }
}
