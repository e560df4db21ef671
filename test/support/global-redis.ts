/**
 * One private redis-server for the whole run (tests that kill Redis start their
 * own). Its URL reaches tests through `inject('redisUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';

let server: RedisServerHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
