/**
 * Which gateway processes are alive: one sorted set, `<prefix>:nodes`, of node IDs
 * scored by when each one's liveness lapses (ms). A process enters it before it
 * starts using Redis, refreshes it with the session leases and leaves at a clean
 * stop. A process that crashed stops refreshing, so its entry lapses and what it
 * left in Redis (its admission queue) can be told apart from what a live process
 * uses. One key rather than one per process: listing needs no SCAN, which on a
 * cluster would see one master only.
 */
import { randomUUID } from 'node:crypto';
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

/** How long a start may hold its node ID's claim (a start that crashed leaves it this long), ms. */
const START_CLAIM_MS = 10_000;
const START_CLAIM_POLL_MS = 100;

/**
 * One start at a time under a node ID: the roll call (control-bus.ts `nodeIdHolder`) finds a
 * process that listens, but two started together would both find nobody yet. Waits while
 * another start holds the claim (up to START_CLAIM_MS: one that crashed lets it lapse); the
 * returned function releases it, once this process listens under the ID.
 */
export async function claimNodeIdStart(
  redis: RedisConnection,
  keys: Keys,
  nodeId: string,
): Promise<() => Promise<void>> {
  const key = keys.nodeStart(nodeId);
  const token = randomUUID();
  const giveUpAt = Date.now() + START_CLAIM_MS;
  while ((await redis.set(key, token, 'PX', START_CLAIM_MS, 'NX')) !== 'OK' && Date.now() < giveUpAt)
    await new Promise((resolve) => setTimeout(resolve, START_CLAIM_POLL_MS));
  return async () => {
    // Only our own claim: past START_CLAIM_MS another start may hold the key.
    if ((await redis.get(key).catch(() => null)) === token) await redis.del(key).catch(() => {});
  };
}
