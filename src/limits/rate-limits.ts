/**
 * Connection-level limits, shared by every gateway process through Redis:
 * attempts per IP and per user in a window (rate-limiter-flexible), concurrent
 * connections per IP and per user (a lease-scored sorted set, so a crashed process's
 * entries expire instead of leaking), and failed authentications per IP with a
 * progressive delay. Redis trouble falls back to an in-memory limiter rather than
 * letting everyone in or locking everyone out.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitsConfig } from '../config/config.ts';
import { TetherError } from '../errors/tether-error.ts';

const MAX_AUTH_DELAY_MS = 5000;

const CLAIM_SLOT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3]) return 1`;

type SlotRedis = Redis & {
  tetherClaimSlot(key: string, member: string, now: number, expiresAt: number, max: number): Promise<number>;
};

export interface LimitStats {
  hits: Record<string, number>;
}

export class RateLimits {
  readonly stats: LimitStats = { hits: {} };
  private readonly connectIp?: RateLimiterRedis;
  private readonly connectUser?: RateLimiterRedis;
  private readonly authFailures?: RateLimiterRedis;
  private readonly redis: SlotRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly config: LimitsConfig,
    private readonly leaseMs: number,
  ) {
    const limiter = (name: string, points: number, duration: number) =>
      points > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `${prefix}:rl:${name}`,
            points,
            duration,
            insuranceLimiter: new RateLimiterMemory({ points, duration }),
          })
        : undefined;
    this.connectIp = limiter('connect-ip', config.connectPerIp, config.windowS);
    this.connectUser = limiter('connect-user', config.connectPerUser, config.windowS);
    this.authFailures = limiter('auth-fail', config.authFailuresPerIp, config.authFailureWindowS);
    if (!('tetherClaimSlot' in redis))
      redis.defineCommand('tetherClaimSlot', { numberOfKeys: 1, lua: CLAIM_SLOT });
    this.redis = redis as SlotRedis;
  }

  /** Count a connection attempt from `ip`; throws CONNECT_RATE_LIMITED when over. */
  attemptFromIp(ip: string): Promise<void> {
    return this.consume(this.connectIp, ip, 'CONNECT_RATE_LIMITED', 'connect-ip');
  }

  attemptByUser(userId: string): Promise<void> {
    return this.consume(this.connectUser, userId, 'CONNECT_RATE_LIMITED', 'connect-user');
  }

  /** Throws AUTH_RATE_LIMITED while `ip` is over its failure budget. */
  async assertAuthAllowed(ip: string): Promise<void> {
    const res = await this.authFailures?.get(ip).catch(() => null);
    // AUTH_FAILURES_PER_IP failures are tolerated; the attempt after them is refused.
    if (res && res.consumedPoints >= this.config.authFailuresPerIp) {
      this.hit('auth');
      throw new TetherError('AUTH_RATE_LIMITED', { retryAfterMs: res.msBeforeNext });
    }
  }

  /** Record a failed authentication; returns how long to stall the reply (progressive delay). */
  async authFailed(ip: string): Promise<number> {
    if (!this.authFailures) return 0;
    try {
      const res = await this.authFailures.penalty(ip, 1);
      return Math.min(MAX_AUTH_DELAY_MS, 100 * 2 ** Math.max(0, res.consumedPoints - 1));
    } catch {
      return 0;
    }
  }

  /** Claim a concurrent-connection slot for `member` under `scope:id`; throws TOO_MANY_CONNECTIONS. */
  async claimSlot(scope: 'ip' | 'user', id: string, member: string): Promise<void> {
    const max = scope === 'ip' ? this.config.maxPerIp : this.config.maxPerUser;
    if (max === 0) return;
    const now = Date.now();
    const ok = await this.redis.tetherClaimSlot(
      this.slotKey(scope, id),
      member,
      now,
      now + 2 * this.leaseMs,
      max,
    );
    if (ok !== 1) {
      this.hit(`concurrent-${scope}`);
      throw new TetherError('TOO_MANY_CONNECTIONS', { detail: `more than ${max} per ${scope}` });
    }
  }

  releaseSlot(scope: 'ip' | 'user', id: string, member: string): void {
    this.redis.zrem(this.slotKey(scope, id), member).catch(() => {});
  }

  /** Keep live connections' slots from expiring (called from the session lease loop). */
  async refreshSlots(slots: Iterable<{ scope: 'ip' | 'user'; id: string; member: string }>): Promise<void> {
    const pipeline = this.redis.pipeline();
    const expiresAt = Date.now() + 2 * this.leaseMs;
    let count = 0;
    for (const slot of slots) {
      pipeline.zadd(this.slotKey(slot.scope, slot.id), 'XX', expiresAt, slot.member);
      count++;
    }
    if (count > 0) await pipeline.exec();
  }

  hit(limit: string): void {
    this.stats.hits[limit] = (this.stats.hits[limit] ?? 0) + 1;
  }

  private slotKey(scope: 'ip' | 'user', id: string): string {
    return `${this.prefix}:{cc:${scope}:${id}}`;
  }

  private async consume(
    limiter: RateLimiterRedis | undefined,
    key: string,
    code: 'CONNECT_RATE_LIMITED',
    name: string,
  ): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return; // store trouble: the insurance limiter already ran
      this.hit(name);
      throw new TetherError(code, { retryAfterMs: rejection.msBeforeNext, detail: name });
    }
  }
}
