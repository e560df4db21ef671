/**
 * Which gateway processes are alive: one sorted set, `<prefix>:nodes`, of node IDs
 * scored by when each one's liveness lapses (ms). A process enters it before it
 * starts using Redis, refreshes it with the session leases and leaves at a clean
 * stop. A process that crashed stops refreshing, so its entry lapses and what it
 * left in Redis (its admission queue) can be told apart from what a live process
 * uses. One key rather than one per process: listing needs no SCAN, which on a
 * cluster would see one master only.
 */
import type { Keys } from './keys.ts';
import type { RedisConnection } from './redis-target.ts';

/** Refreshes a process may miss (a slow Redis, a long pause) before it counts as gone. */
const MISSED_BEATS = 3;

export class NodePresence {
  private readonly key: string;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    keys: Keys,
    private readonly nodeId: string,
    beatEveryMs: number,
  ) {
    this.key = keys.nodes();
    this.ttlMs = MISSED_BEATS * beatEveryMs;
  }

  async beat(): Promise<void> {
    const now = Date.now();
    await Promise.all([
      this.redis.zadd(this.key, now + this.ttlMs, this.nodeId),
      // Entries of processes long gone are dropped by whoever beats next.
      this.redis.zremrangebyscore(this.key, '-inf', now - this.ttlMs),
    ]);
  }

  /** A clean stop; best effort, since the entry lapses on its own anyway. */
  async leave(): Promise<void> {
    await this.redis.zrem(this.key, this.nodeId).catch(() => {});
  }
}

/** Node IDs of the processes alive now. */
export async function liveNodeIds(redis: RedisConnection, keys: Keys): Promise<Set<string>> {
  return new Set(await redis.zrangebyscore(keys.nodes(), Date.now(), '+inf'));
}
