/**
 * The development-mode signing secret, kept in Redis so that every dev gateway
 * process on the same Redis and key prefix signs and verifies with the same one:
 * a printed token keeps working after a restart and on a second process, and so
 * does resume. The first process to start writes it (SET NX); the rest read it.
 */
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../redis/redis-target.ts';

/** Where the secret lives: one plain string key, outside every hash-tagged family. */
export function devSecretKey(prefix: string): string {
  return `${prefix}:dev-secret`;
}

/** The shared secret, written now when no process has written one yet. */
export async function sharedDevSecret(redis: RedisConnection, prefix: string): Promise<Uint8Array> {
  const key = devSecretKey(prefix);
  // SET NX then GET rather than SET NX GET, which needs Redis 7.
  await redis.set(key, randomBytes(32).toString('hex'), 'NX');
  const secret = await redis.get(key);
  if (!secret) throw new Error(`development secret ${key} vanished right after it was written`);
  return new TextEncoder().encode(secret);
}
