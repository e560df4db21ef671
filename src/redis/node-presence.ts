/**
 * Which gateway processes are alive: each holds `<prefix>:node:<nodeId>`, set before
 * it starts using Redis, refreshed with the session leases and deleted at a clean
 * stop. A process that crashed stops refreshing, so its key expires and what it left
 * in Redis (its admission queue) can be told apart from what a live process uses.
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
    nodeId: string,
    beatEveryMs: number,
  ) {
    this.key = keys.node(nodeId);
    this.ttlMs = MISSED_BEATS * beatEveryMs;
  }

  async beat(): Promise<void> {
    await this.redis.set(this.key, String(Date.now()), 'PX', this.ttlMs);
  }

  /** A clean stop; best effort, since the key expires on its own anyway. */
  async leave(): Promise<void> {
    await this.redis.del(this.key).catch(() => {});
  }
}

/** Node IDs of the processes alive now (SCAN: never blocks Redis). */
export async function liveNodeIds(redis: RedisConnection, keys: Keys): Promise<Set<string>> {
  const start = keys.node('').length;
  const live = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.node('*'), 'COUNT', 500);
    cursor = next;
    for (const key of found) live.add(key.slice(start));
  } while (cursor !== '0');
  return live;
}
