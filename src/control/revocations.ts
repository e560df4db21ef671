/**
 * Blocked users and revoked tokens, in Redis, hash-tagged per user
 * (`<prefix>:{u:<userId>}:…`, one Redis Cluster slot): `:blocked` holds why and since
 * when (and expires with the block, when it has an end), `:revoked-before` the time
 * (ms) before which the user's tokens are refused. The core's RevocationList port:
 * two GETs per hello, run beside the connection limits' own round trip.
 */

import type { RevocationList, Revoked } from '../core/ports/revocation-list.ts';
import type { Principal } from '../core/principal.ts';
import { defineScripts, LuaScript } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';

export interface Block {
  reason?: string;
  /** When the block started (ms since the epoch). */
  since: number;
  /** When it ends by itself (ms since the epoch); absent: until lifted. */
  until?: number;
}

/** Keeps the latest of two revocation times: a revocation never moves back. */
const REVOKE = `local current = tonumber(redis.call('GET', KEYS[1]) or '0')
  local before = math.max(current, tonumber(ARGV[1]))
  redis.call('SET', KEYS[1], before) return before`;

type RevocationRedis = RedisConnection & { tetherRevokeBefore(key: string, before: number): Promise<number> };

export class RedisRevocations implements RevocationList {
  private readonly redis: RevocationRedis;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
  ) {
    defineScripts(redis, { tetherRevokeBefore: new LuaScript(REVOKE, 1) });
    this.redis = redis as RevocationRedis;
  }

  /**
   * A token is revoked when its `iat` (whole seconds) × 1000 is before the user's revocation
   * time; a token without `iat` cannot show it came later, so it is revoked too.
   */
  async refusal(principal: Principal): Promise<Revoked | undefined> {
    const { blocked, revokedBefore } = await this.status(principal.userId);
    if (blocked) return 'USER_BLOCKED';
    if (revokedBefore === undefined) return undefined;
    const { issuedAt } = principal;
    return issuedAt === undefined || issuedAt < revokedBefore ? 'AUTH_TOKEN_REVOKED' : undefined;
  }

  async status(userId: string): Promise<{ blocked?: Block; revokedBefore?: number }> {
    // Two GETs, not an MGET: most users have neither key, and while their slot migrates a
    // cluster refuses a read of several keys it lacks (TRYAGAIN) for the whole move, so every
    // hello of theirs was refused; a one-key read follows the slot (ASK). One round trip still.
    const [blocked, revoked] = await Promise.all([
      this.redis.get(this.blockedKey(userId)),
      this.redis.get(this.revokedKey(userId)),
    ]);
    return {
      blocked: blocked ? (JSON.parse(blocked) as Block) : undefined,
      revokedBefore: revoked ? Number(revoked) : undefined,
    };
  }

  async block(userId: string, reason?: string, ttlMs?: number): Promise<Block> {
    const since = Date.now();
    const block: Block = { reason, since, until: ttlMs === undefined ? undefined : since + ttlMs };
    const key = this.blockedKey(userId);
    if (ttlMs === undefined) await this.redis.set(key, JSON.stringify(block));
    else await this.redis.set(key, JSON.stringify(block), 'PX', ttlMs);
    return block;
  }

  /** true when the user was blocked. */
  async unblock(userId: string): Promise<boolean> {
    return (await this.redis.del(this.blockedKey(userId))) > 0;
  }

  /** Revoke the user's tokens issued before `before` (ms); returns the time in force (the later one). */
  revoke(userId: string, before: number): Promise<number> {
    return this.redis.tetherRevokeBefore(this.revokedKey(userId), before).then(Number);
  }

  private blockedKey(userId: string): string {
    return `${this.prefix}:{u:${userId}}:blocked`;
  }

  private revokedKey(userId: string): string {
    return `${this.prefix}:{u:${userId}}:revoked-before`;
  }
}
