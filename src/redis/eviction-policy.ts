/**
 * Redis's `maxmemory-policy`. Under any policy but `noeviction`, a Redis at its memory limit
 * drops keys to make room: a channel's log, a session, an idempotency key. The gateway tells
 * clients of a lost log (SERVICE_RESTART, `recovered: false`) but cannot bring it back, and
 * an evicted idempotency key lets a retried publish store a second copy. Under `noeviction`
 * Redis refuses writes instead, before running them, which clients hear as the retryable
 * STORE_UNAVAILABLE with nothing written (src/redis/store-errors.ts). So the gateway says so
 * at start and in /health/websocket; it does not refuse to run, as a cache-sized Redis
 * shared with other work may be a choice.
 */
import type { Logger } from '../observability/logger.ts';
import { masters, nodeName, type RedisConnection } from './redis-target.ts';

export interface EvictionPolicy {
  node: string;
  /** Undefined where the server does not answer INFO (an ACL that refuses it). */
  policy: string | undefined;
}

/**
 * Every master's `maxmemory-policy`, from `INFO memory`: managed services that disable or
 * rename CONFIG (ElastiCache, whose default policy is volatile-lru) still serve INFO, and
 * they are where a policy that evicts is most often left as it came.
 */
export function evictionPolicies(redis: RedisConnection): Promise<EvictionPolicy[]> {
  return Promise.all(
    masters(redis).map(async (node) => {
      const info = await node.info('memory').catch(() => '');
      const policy = /^maxmemory_policy:([^\r\n]+)/m.exec(info)?.[1];
      return { node: nodeName(node), policy };
    }),
  );
}

/** The masters that may drop Tether's keys under memory pressure. */
export const evicting = (policies: EvictionPolicy[]): EvictionPolicy[] =>
  policies.filter(({ policy }) => policy !== undefined && policy !== 'noeviction');

export const EVICTION_ADVICE =
  'under memory pressure Redis may drop channel logs (clients are told: SERVICE_RESTART, recovered: false), sessions and idempotency keys; set maxmemory-policy noeviction so Redis refuses writes instead (STORE_UNAVAILABLE, retryable, nothing written)';

/** At start: one warning naming the masters that may evict. Never delays or fails the start. */
export async function warnIfEvicting(redis: RedisConnection, logger: Logger): Promise<void> {
  const found = evicting(await evictionPolicies(redis));
  if (found.length > 0)
    logger.warn({ evictionPolicies: found }, `Redis maxmemory-policy: ${EVICTION_ADVICE}`);
}
