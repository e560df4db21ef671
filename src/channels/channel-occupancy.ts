/**
 * Subscribers per channel across every gateway process, in Redis: what a namespace's
 * `maxSubscribers` caps, and what says a channel became occupied or vacated
 * (lifecycle notifications, src/notifications/). Each process keeps one count per
 * channel under a lease it renews every SESSION_LEASE_MS (occupancy-scripts.ts), so a
 * crashed process's subscribers lapse instead of leaking: dropped by the next script
 * that touches the channel, or — when every holder is gone — by the sweep that each
 * process runs over an index of occupied channels.
 *
 * Counted: every channel with a cap, and every channel when occupancy is reported;
 * never inbox or system channels. Locally each counted channel keeps its members
 * (connection IDs), so an `enter` and a `leave` may come in any order and the count
 * in Redis is always what this process holds; the lease renewal writes it again.
 */

import type { Logger } from 'pino';
import type { ChannelOccupancy } from '../core/ports/channel-occupancy.ts';
import type { Keys } from '../redis/keys.ts';
import { defineScripts, LuaScript } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import { INBOX_PREFIX, SYSTEM_PREFIX } from '../shared/frames.ts';
import {
  DROP_TAKEN_SCRIPT,
  ENTER_SCRIPT,
  LEAVE_SCRIPT,
  REFRESH_SCRIPT,
  SWEEP_SCRIPT,
  TAKE_DUE_SCRIPT,
} from './occupancy-scripts.ts';

const OCCUPANCY_SCRIPTS = {
  tetherOccEnter: new LuaScript(ENTER_SCRIPT, 2),
  tetherOccLeave: new LuaScript(LEAVE_SCRIPT, 2),
  tetherOccRefresh: new LuaScript(REFRESH_SCRIPT, 2),
  tetherOccSweep: new LuaScript(SWEEP_SCRIPT, 2),
  tetherOccTakeDue: new LuaScript(TAKE_DUE_SCRIPT, 1),
  tetherOccDropTaken: new LuaScript(DROP_TAKEN_SCRIPT, 1),
};

export interface OccupancyChange {
  channel: string;
  state: 'occupied' | 'vacated';
  /** Subscribers across every process right after the change. */
  subscribers: number;
  /** When Redis decided it (its clock, ms since the epoch): orders changes decided on different processes. */
  at: number;
  /** Why a channel was vacated: its last subscriber left, or the leases of the processes holding it lapsed. */
  cause?: 'left' | 'lapsed';
}

export interface ChannelOccupancyOptions {
  nodeId: string;
  /** REDIS_PREFIX: the index of occupied channels is `<prefix>:occupied`. */
  prefix: string;
  /** How often leases are renewed and the index swept, ms; a lease lasts three of these. */
  leaseMs: number;
  /** Count every channel (to report occupancy), not only those with a cap. */
  countAll: boolean;
  /** A channel became occupied or vacated (reported once, by the process whose script decided it). */
  changed(change: OccupancyChange): void;
  logger: Logger;
}

type Scripted = RedisConnection & {
  tetherOccEnter(counts: string, leases: string, ...args: (string | number)[]): Promise<number[]>;
  tetherOccLeave(counts: string, leases: string, ...args: (string | number)[]): Promise<number[]>;
  tetherOccRefresh(counts: string, leases: string, ...args: (string | number)[]): Promise<number[]>;
  tetherOccSweep(counts: string, leases: string): Promise<number[]>;
  tetherOccTakeDue(index: string, ...args: (string | number)[]): Promise<string[]>;
  tetherOccDropTaken(index: string, channel: string, score: string): Promise<number>;
};

interface Tally {
  /** Connections counted in Redis. */
  members: Set<string>;
  /** Connections whose enter is in flight; true once they left meanwhile. */
  pending: Map<string, boolean>;
}

/** Channels taken from the index per sweep step, and steps per sweep at most. */
const SWEEP_BATCH = 200;
const SWEEP_STEPS = 10;

export class RedisChannelOccupancy implements ChannelOccupancy {
  private readonly redis: Scripted;
  private readonly tallies = new Map<string, Tally>();
  private readonly leaseTtlMs: number;
  private readonly index: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    redis: RedisConnection,
    private readonly keys: Keys,
    private readonly options: ChannelOccupancyOptions,
  ) {
    defineScripts(redis, OCCUPANCY_SCRIPTS);
    this.redis = redis as Scripted;
    this.leaseTtlMs = 3 * options.leaseMs;
    this.index = `${options.prefix}:occupied`;
  }

  start(): void {
    this.timer = setInterval(() => void this.renew(), this.options.leaseMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async enter(channel: string, member: string, cap: number, force: boolean): Promise<boolean> {
    if (!this.counts(channel, cap)) return true;
    let tally = this.tallies.get(channel);
    if (!tally) {
      tally = { members: new Set(), pending: new Map() };
      this.tallies.set(channel, tally);
    }
    if (tally.members.has(member) || tally.pending.has(member)) return true;
    tally.pending.set(member, false);
    let reply: number[];
    try {
      reply = await this.redis.tetherOccEnter(
        ...this.countKeys(channel),
        this.options.nodeId,
        this.leaseTtlMs,
        cap,
        force ? '1' : '0',
      );
    } catch (error) {
      tally.pending.delete(member);
      this.forgetIfIdle(channel, tally);
      throw error;
    }
    const [admitted, subscribers, lapsed, at, latest] = reply.map(Number) as number[];
    const leftMeanwhile = tally.pending.get(member);
    tally.pending.delete(member);
    if (lapsed) this.report({ channel, state: 'vacated', subscribers: 0, at: at as number, cause: 'lapsed' });
    if (!admitted) {
      this.forgetIfIdle(channel, tally);
      return false;
    }
    if (subscribers === 1) {
      this.report({ channel, state: 'occupied', subscribers: 1, at: at as number });
      this.indexed(channel, latest as number);
    }
    tally.members.add(member);
    if (leftMeanwhile) this.leave(channel, member);
    return true;
  }

  leave(channel: string, member: string): void {
    const tally = this.tallies.get(channel);
    if (!tally) return;
    if (tally.pending.has(member)) {
      tally.pending.set(member, true); // taken back once its enter has settled
      return;
    }
    if (!tally.members.delete(member)) return;
    this.forgetIfIdle(channel, tally);
    this.redis
      .tetherOccLeave(...this.countKeys(channel), this.options.nodeId, this.leaseTtlMs)
      .then((reply) => {
        const [subscribers, vacated, at] = reply.map(Number) as number[];
        if (vacated)
          this.report({
            channel,
            state: 'vacated',
            subscribers: subscribers ?? 0,
            at: at ?? 0,
            cause: 'left',
          });
      })
      // The lease renewal writes this process's count again: a lost leave heals there.
      .catch((error) => this.options.logger.warn({ err: error, channel }, 'occupancy: leave failed'));
  }

  /** Subscribers of `channel` counted in this process (tests, admin). */
  localCount(channel: string): number {
    return this.tallies.get(channel)?.members.size ?? 0;
  }

  /** Renew this process's leases (writing its counts again), then sweep channels nobody renews. */
  async renew(): Promise<void> {
    try {
      await Promise.all([...this.tallies].map(([channel, tally]) => this.refresh(channel, tally)));
      await this.sweep();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'occupancy: lease renewal failed');
    }
  }

  private async refresh(channel: string, tally: Tally): Promise<void> {
    // With an enter in flight the count in Redis is about to change: renew only.
    const count = tally.pending.size > 0 ? '' : tally.members.size;
    const reply = await this.redis.tetherOccRefresh(
      ...this.countKeys(channel),
      this.options.nodeId,
      this.leaseTtlMs,
      count,
    );
    const [subscribers, occupied, vacated, at, latest] = reply.map(Number) as number[];
    if (occupied) this.report({ channel, state: 'occupied', subscribers: subscribers ?? 0, at: at ?? 0 });
    if (vacated) this.report({ channel, state: 'vacated', subscribers: 0, at: at ?? 0, cause: 'lapsed' });
    if ((subscribers ?? 0) > 0) this.indexed(channel, latest ?? 0);
  }

  /** Channels whose latest lease ended: every process holding them stopped renewing. */
  private async sweep(): Promise<void> {
    for (let step = 0; step < SWEEP_STEPS; step++) {
      const taken = await this.redis.tetherOccTakeDue(this.index, SWEEP_BATCH, this.leaseTtlMs);
      for (let i = 0; i + 1 < taken.length; i += 2) {
        const channel = taken[i] as string;
        const [subscribers, vacated, at, latest] = (
          await this.redis.tetherOccSweep(...this.countKeys(channel))
        ).map(Number) as number[];
        if (vacated) this.report({ channel, state: 'vacated', subscribers: 0, at: at ?? 0, cause: 'lapsed' });
        if ((subscribers ?? 0) > 0) this.indexed(channel, latest ?? 0);
        else await this.redis.tetherOccDropTaken(this.index, channel, taken[i + 1] as string);
      }
      if (taken.length < 2 * SWEEP_BATCH) return;
    }
  }

  /** Keep the index at the channel's latest lease end (GT: never earlier), so the sweep looks once all lapsed. */
  private indexed(channel: string, latest: number): void {
    if (latest <= 0) return;
    this.redis
      .zadd(this.index, 'GT', latest, channel)
      .catch((error) => this.options.logger.warn({ err: error, channel }, 'occupancy: index update failed'));
  }

  private counts(channel: string, cap: number): boolean {
    if (channel.startsWith(INBOX_PREFIX) || channel.startsWith(SYSTEM_PREFIX)) return false;
    return cap > 0 || this.options.countAll;
  }

  private countKeys(channel: string): [string, string] {
    const key = this.keys.channel(channel);
    return [`${key}:subs`, `${key}:subs:leases`];
  }

  private forgetIfIdle(channel: string, tally: Tally): void {
    if (tally.members.size === 0 && tally.pending.size === 0) this.tallies.delete(channel);
  }

  private report(change: OccupancyChange): void {
    try {
      this.options.changed(change);
    } catch (error) {
      this.options.logger.error({ err: error, change }, 'occupancy: listener failed');
    }
  }
}
