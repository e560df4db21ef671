/**
 * Which sessions a user has: `<prefix>:{u:<userId>}:sessions`, a sorted set of
 * session IDs scored by when each entry lapses (ms), hash-tagged per user so it
 * lands on one Redis Cluster slot. Entries follow the session's own TTL — the live
 * lease while connected, the resume window while reconnecting — so a session whose
 * process crashed drops out when its hash would have expired; a deleted session is
 * removed at once. Read by the control routes (GET /users/:userId/sessions).
 */
import { defineScripts, LuaScript } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';

/**
 * KEYS[1] the user's set; ARGV: 'NX'|'XX' (add, or only refresh), until, sessionId, now.
 * The key expires with its latest entry, whoever wrote last.
 */
const HOLD = `local added = redis.call('ZADD', KEYS[1], ARGV[1] == 'XX' and 'XX' or 'GT', ARGV[2], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
  local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if latest[2] then redis.call('PEXPIREAT', KEYS[1], latest[2]) end
  return added`;

type IndexRedis = RedisConnection & {
  tetherHoldSession(
    key: string,
    mode: 'ADD' | 'XX',
    until: number,
    sessionId: string,
    now: number,
  ): Promise<number>;
};

export class UserSessionIndex {
  private readonly redis: IndexRedis;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
  ) {
    defineScripts(redis, { tetherHoldSession: new LuaScript(HOLD, 1) });
    this.redis = redis as IndexRedis;
  }

  key(userId: string): string {
    return `${this.prefix}:{u:${userId}}:sessions`;
  }

  /** The session is the user's for `ttlMs` more. */
  hold(userId: string, sessionId: string, ttlMs: number): Promise<unknown> {
    const now = Date.now();
    return this.redis.tetherHoldSession(this.key(userId), 'ADD', now + ttlMs, sessionId, now);
  }

  /** Keep live sessions listed for `ttlMs` more (only those still listed). */
  async refresh(held: Iterable<{ userId: string; sessionId: string }>, ttlMs: number): Promise<void> {
    const now = Date.now();
    // One call per user (one write per turn all the same), not a pipeline: users' sets are in many cluster slots.
    await Promise.all(
      [...held].map(({ userId, sessionId }) =>
        this.redis.tetherHoldSession(this.key(userId), 'XX', now + ttlMs, sessionId, now),
      ),
    );
  }

  release(userId: string, sessionId: string): Promise<unknown> {
    return this.redis.zrem(this.key(userId), sessionId);
  }

  /** Session IDs the user holds now (entries past their time are left out). */
  sessionIds(userId: string): Promise<string[]> {
    return this.redis.zrangebyscore(this.key(userId), Date.now(), '+inf');
  }
}
