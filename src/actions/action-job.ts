/**
 * The contract between the gateway (producer) and backend workers (consumers).
 * Trace context rides in the job the one way BullMQ carries it: its `telemetry`
 * option (bullmq-otel) puts the W3C context in `job.opts.telemetry.metadata`.
 *
 * The action queue is split into shards (ACTION_QUEUE_SHARDS), each its own BullMQ
 * queue under its own hash tag, so on a Redis Cluster the shards — and the work of
 * adding and taking jobs — spread over the masters instead of all landing on one
 * slot. A session's actions all go to one shard: among themselves they keep the
 * queue's order (action class, then tier, FIFO within). Across shards the order is
 * per shard: one shard is the only way to a single global order.
 */

/** The name of the BullMQ queue of client actions, in every shard. */
export const ACTIONS_QUEUE = 'actions';

/**
 * BullMQ's key prefix of action shard `shard`: braces keep one shard's keys on one
 * cluster slot, and each shard's tag is its own. Shard 0 keeps the single queue's
 * prefix, so jobs queued before sharding are still taken.
 */
export function actionShardPrefix(redisPrefix: string, shard: number): string {
  return shard === 0 ? `{${redisPrefix}-bull}` : `{${redisPrefix}-bull-${shard}}`;
}

/** The prefixes of all `shards` action shards, shard 0 first. */
export function actionShardPrefixes(redisPrefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => actionShardPrefix(redisPrefix, shard));
}

/**
 * The shard of a session's actions: a stable hash of the session ID (FNV-1a), the
 * same on every gateway process, so a session's actions keep one queue's order also
 * after it resumed elsewhere.
 */
export function actionShardOf(sessionId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) hash = Math.imul(hash ^ sessionId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}

export interface ActionJob {
  /** The client's `ref`, echoed on the reply. */
  ref: string;
  sessionId: string;
  userId: string;
  tier: string;
  correlationId: string;
  /** The action's payload from the client frame. */
  data: unknown;
  enqueuedAt: number;
}

export interface ActionReply {
  ref: string;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string; detail?: string; retryable: boolean; retryAfterMs?: number };
}
