/**
 * Connection-level limits, shared by every gateway process through Redis:
 * attempts per IP and per user in a sliding window, concurrent connections per IP
 * and per user, and failed authentications per IP with a progressive delay
 * (rate-limiter-flexible). Redis trouble falls back to an in-memory limiter rather
 * than letting everyone in or locking everyone out.
 *
 * Attempts and concurrent slots are one mechanism: a sorted set of leases (member →
 * when it ends), claimed by one Lua script. A concurrent slot is a lease that lives
 * while its connection refreshes it (so a crashed process's slots expire instead of
 * leaking); an attempt is a lease of RATE_WINDOW_S, so the set is the sliding-window
 * log of the attempts still inside the window.
 */
import { randomUUID } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitsConfig } from '../config/config.ts';
import { TetherError } from '../core/tether-error.ts';
import { defineScripts, LuaScript } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import { jitteredAtLeast } from '../shared/backoff.ts';
import { type ErrorCode, jitteredRetryAfter } from '../shared/errors.ts';

const MAX_AUTH_DELAY_MS = 5000;

/**
 * KEYS[1]: the lease set; ARGV: member, now, the new lease's end, max (all ms).
 * Returns 0 when `member` holds a lease (a renewal never counts twice), else the ms
 * until the earliest lease ends and a place frees.
 */
const CLAIM_LEASE = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
    local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(earliest[2]) - tonumber(ARGV[2]))
  end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3]) return 0`;

/**
 * KEYS[1]: a concurrent-slot set; ARGV: now, the leases' new end (ms), then this process's
 * members in it. Renews the members (those still in the set: one a claim found lapsed is
 * not put back), then takes out the leases that ended — a crashed process's connections,
 * which a live process renewing the set would otherwise keep in it for as long as one of its
 * own connections of that user or address stays — and renews the set.
 */
const RENEW_LEASES = `for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
  return 0`;

/**
 * Members one RENEW_LEASES call renews. A set one address fills (every connection behind an L4
 * load balancer, MAX_CONNECTIONS_PER_IP raised to match) can hold a process's every connection:
 * as one call its members were the call's arguments — past ~120,000 the call threw before
 * reaching Redis, and 60,000 held Redis 155 ms, every SESSION_LEASE_MS. 1,000 is ~1.5 ms.
 */
const RENEWED_PER_CALL = 1000;

type LeaseRedis = RedisConnection & {
  tetherClaimLease(key: string, member: string, now: number, endsAt: number, max: number): Promise<number>;
  tetherRenewLeases(key: string, now: number, endsAt: number, ...members: string[]): Promise<number>;
};

type Scope = 'ip' | 'user';

/** Each limit refuses with its own code, so a client (and an operator) can tell which one it met. */
const REFUSALS = {
  ip: { attempts: 'CONNECT_RATE_LIMITED', concurrent: 'TOO_MANY_CONNECTIONS' },
  user: { attempts: 'USER_CONNECT_RATE_LIMITED', concurrent: 'USER_TOO_MANY_CONNECTIONS' },
} as const satisfies Record<Scope, Record<string, ErrorCode>>;

/**
 * The limit each refusal code names, as `tether_rate_limit_hits_total{limit}` and
 * /ws/stats/rate-limit count it. A hello can fail several checks at once (they are asked
 * together) but the client is told one: hits are counted from the refusal it was sent
 * (`countRefusal`), never where a check fails.
 */
const LIMIT_OF_REFUSAL: Partial<Record<ErrorCode, string>> = {
  CONNECT_RATE_LIMITED: 'connect-ip',
  USER_CONNECT_RATE_LIMITED: 'connect-user',
  TOO_MANY_CONNECTIONS: 'concurrent-ip',
  USER_TOO_MANY_CONNECTIONS: 'concurrent-user',
  AUTH_RATE_LIMITED: 'auth',
  MESSAGE_RATE_LIMITED: 'messages',
};

export interface LimitStats {
  /** Refusals sent to clients since start, by limit (LIMIT_OF_REFUSAL). */
  hits: Record<string, number>;
}

export class RateLimits {
  readonly stats: LimitStats = { hits: {} };
  private readonly authFailures?: RateLimiterRedis;
  /** Stand-ins for the attempt logs while Redis errors: per process, same numbers. */
  private readonly attemptsInMemory: Record<Scope, RateLimiterMemory>;
  private readonly redis: LeaseRedis;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
    private readonly config: LimitsConfig,
    private readonly leaseMs: number,
  ) {
    const { authFailuresPerIp: points, authFailureWindowS: duration } = config;
    if (points > 0)
      this.authFailures = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:rl:auth-fail`,
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ points, duration }),
      });
    this.attemptsInMemory = {
      ip: new RateLimiterMemory({ points: config.connectPerIp, duration: config.windowS }),
      user: new RateLimiterMemory({ points: config.connectPerUser, duration: config.windowS }),
    };
    defineScripts(redis, {
      tetherClaimLease: new LuaScript(CLAIM_LEASE, 1),
      tetherRenewLeases: new LuaScript(RENEW_LEASES, 1),
    });
    this.redis = redis as LeaseRedis;
  }

  /** Count a connection attempt from `ip`; throws CONNECT_RATE_LIMITED when over. */
  attemptFromIp(ip: string): Promise<void> {
    return this.attempt('ip', ip);
  }

  /** Count a connection attempt by `userId`; throws USER_CONNECT_RATE_LIMITED when over. */
  attemptByUser(userId: string): Promise<void> {
    return this.attempt('user', userId);
  }

  /**
   * Throws AUTH_RATE_LIMITED while `ip` is over its failure budget. Every hello asks this, and
   * almost every answer is "not over": one plain GET of the limiter's counter, in one write
   * with the other hellos' commands of the same turn (the limiter's own `get` is a MULTI of
   * GET and PTTL: four commands per hello). The limiter is asked only for an IP over
   * its budget (for how long it stays refused) or when Redis fails (its in-memory stand-in).
   */
  async assertAuthAllowed(ip: string): Promise<void> {
    const limiter = this.authFailures;
    if (!limiter) return;
    const failures = await this.redis.get(limiter.getKey(ip)).then(Number, () => undefined);
    // AUTH_FAILURES_PER_IP failures are tolerated; the attempt after them is refused.
    if (failures !== undefined && failures < this.config.authFailuresPerIp) return;
    const res = await limiter.get(ip).catch(() => null);
    if (res && res.consumedPoints >= this.config.authFailuresPerIp) throw this.authRateLimited(res);
  }

  /**
   * Record a failed authentication; returns how long to stall the reply (progressive delay).
   * Throws AUTH_RATE_LIMITED when this failure is past the budget: parallel hellos all pass
   * `assertAuthAllowed` before any of their failures is counted, but the count is one atomic
   * increment per failure, so only the first AUTH_FAILURES_PER_IP of them learn that their
   * token was bad.
   */
  async authFailed(ip: string): Promise<number> {
    if (!this.authFailures) return 0;
    let res: RateLimiterRes;
    try {
      res = await this.authFailures.penalty(ip, 1);
    } catch {
      return 0;
    }
    if (res.consumedPoints > this.config.authFailuresPerIp) throw this.authRateLimited(res);
    return Math.min(MAX_AUTH_DELAY_MS, 100 * 2 ** Math.max(0, res.consumedPoints - 1));
  }

  private authRateLimited(res: RateLimiterRes): TetherError {
    return new TetherError('AUTH_RATE_LIMITED', { retryAfterMs: jitteredAtLeast(res.msBeforeNext) });
  }

  /**
   * Claim a concurrent-connection slot for `member` under `scope:id`; throws the scope's
   * refusal. Resolves false when the limit is off (no slot held, none to release).
   */
  async claimSlot(scope: Scope, id: string, member: string): Promise<boolean> {
    const max = scope === 'ip' ? this.config.maxPerIp : this.config.maxPerUser;
    if (max === 0) return false;
    if ((await this.claimLease(this.slotKey(scope, id), member, 2 * this.leaseMs, max)) > 0) {
      // A slot frees when a holder closes, which nothing predicts (the earliest lease end
      // is only a crashed holder's): the registry's hint, jittered.
      const code = REFUSALS[scope].concurrent;
      throw new TetherError(code, {
        detail: `more than ${max} per ${scope}`,
        retryAfterMs: jitteredRetryAfter(code),
      });
    }
    return true;
  }

  releaseSlot(scope: Scope, id: string, member: string): void {
    this.redis.zrem(this.slotKey(scope, id), member).catch(() => {});
  }

  /**
   * Keep live connections' slots, and their sets, from expiring, and take out of those sets
   * the slots whose lease ended (called from the session lease loop): one script call per set,
   * or per RENEWED_PER_CALL of its members.
   */
  async refreshSlots(slots: Iterable<{ scope: Scope; id: string; member: string }>): Promise<void> {
    const now = Date.now();
    const expiresAt = now + 2 * this.leaseMs;
    const bySet = new Map<string, string[]>();
    for (const slot of slots) {
      const key = this.slotKey(slot.scope, slot.id);
      const members = bySet.get(key);
      if (members) members.push(slot.member);
      else bySet.set(key, [slot.member]);
    }
    // Single calls (one write per turn all the same), not one pipeline: the sets are in many cluster slots.
    const calls: Promise<number>[] = [];
    for (const [key, members] of bySet)
      for (let i = 0; i < members.length; i += RENEWED_PER_CALL)
        calls.push(
          this.redis.tetherRenewLeases(key, now, expiresAt, ...members.slice(i, i + RENEWED_PER_CALL)),
        );
    await Promise.all(calls);
  }

  /** A coded error reached a client: a hit on the limit it names, if it names one. */
  countRefusal(code: ErrorCode): void {
    const limit = LIMIT_OF_REFUSAL[code];
    if (limit) this.stats.hits[limit] = (this.stats.hits[limit] ?? 0) + 1;
  }

  /** 0 when `member` holds one of `max` leases of `leaseMs` under `key`, else ms until one frees. */
  private claimLease(key: string, member: string, leaseMs: number, max: number): Promise<number> {
    const now = Date.now();
    return this.redis.tetherClaimLease(key, member, now, now + leaseMs, max);
  }

  private slotKey(scope: Scope, id: string): string {
    return `${this.prefix}:{cc:${scope}:${id}}`;
  }

  private async attempt(scope: Scope, id: string): Promise<void> {
    const max = scope === 'ip' ? this.config.connectPerIp : this.config.connectPerUser;
    if (max === 0) return;
    const key = `${this.prefix}:rl:attempts:${scope}:${id}`;
    let waitMs: number;
    try {
      waitMs = await this.claimLease(key, randomUUID(), this.config.windowS * 1000, max);
    } catch {
      waitMs = await this.attemptsInMemory[scope].consume(id).then(
        () => 0,
        (rejection: unknown) => (rejection instanceof RateLimiterRes ? rejection.msBeforeNext : 0),
      );
    }
    if (waitMs > 0)
      throw new TetherError(REFUSALS[scope].attempts, {
        retryAfterMs: jitteredAtLeast(waitMs),
        detail: `connect-${scope}`,
      });
  }
}
