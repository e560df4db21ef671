/**
 * A channel's presence in Redis (the keys and scripts: presence-scripts.ts): apply a
 * batch of joins and leaves, extend leases, read a page. Knows nothing of sessions or
 * sockets; the tracker (presence-tracker.ts) decides what to send.
 */

import type { PresencePage } from '../core/ports/presence-store.ts';
import { defineScripts, scriptTable } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import type { PresenceMember } from '../shared/frames.ts';
import { PRESENCE_SCRIPTS } from './presence-scripts.ts';

/** Expired leases swept per script call: bounded work, whatever a crash left behind. */
const SWEEP_LIMIT = 256;
/** Members past their lease (not swept yet) a page may pass over, beyond its own: bounded work. */
const PAGE_SCAN_EXTRA = 1024;
/** Changes (or leases) per script call: one call must not hold Redis for long. */
export const BATCH_LIMIT = 500;

/** `j` join, `l` leave (the session's own unsubscribe), `e` the session ended here. */
export type PresenceOp = { op: 'j'; sessionId: string; json: string } | { op: 'l' | 'e'; sessionId: string };

type Keys4 = [string, string, string, string];

type PresenceRedis = RedisConnection & {
  tetherPresenceApply(...args: (string | number)[]): Promise<number>;
  tetherPresenceRefresh(...args: (string | number)[]): Promise<[string[], string[]]>;
  tetherPresencePage(
    ...args: (string | number)[]
  ): Promise<[number, string[], (string | null)[], string | null]>;
};

export class ChannelPresence {
  private readonly redis: PresenceRedis;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
    /** This process, as the owner of the members it adds. */
    private readonly nodeId: string,
    /** How long a member stays without a refresh (ms). */
    private readonly leaseMs: number,
  ) {
    defineScripts(redis, scriptTable(PRESENCE_SCRIPTS, 4));
    this.redis = redis as PresenceRedis;
  }

  /** The pub/sub channel a channel's joins and leaves are announced on. */
  topic(channel: string): string {
    return `${this.prefix}:{c:${channel}}:presence:changes`;
  }

  /** The channel a `topic()` belongs to, or undefined for any other pub/sub channel. */
  channelOf(topic: string): string | undefined {
    const start = `${this.prefix}:{c:`;
    const end = '}:presence:changes';
    return topic.startsWith(start) && topic.endsWith(end)
      ? topic.slice(start.length, -end.length)
      : undefined;
  }

  async apply(channel: string, ops: PresenceOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += BATCH_LIMIT) {
      const args = ops
        .slice(i, i + BATCH_LIMIT)
        .flatMap((op) => [op.op, op.sessionId, op.op === 'j' ? op.json : '']);
      await this.redis.tetherPresenceApply(...this.leaseArgs(channel), ...args);
    }
  }

  /** Extend this process's leases; returns the members to join again and those held elsewhere now. */
  async refresh(channel: string, sessionIds: string[]): Promise<{ missing: string[]; moved: string[] }> {
    const missing: string[] = [];
    const moved: string[] = [];
    for (let i = 0; i < sessionIds.length; i += BATCH_LIMIT) {
      const batch = sessionIds.slice(i, i + BATCH_LIMIT);
      const [lost, elsewhere] = await this.redis.tetherPresenceRefresh(...this.leaseArgs(channel), ...batch);
      missing.push(...lost);
      moved.push(...elsewhere);
    }
    return { missing, moved };
  }

  async page(channel: string, limit: number, cursor?: string): Promise<PresencePage> {
    const [count, , members, next] = await this.redis.tetherPresencePage(
      ...this.keys(channel),
      Date.now(),
      cursor === undefined ? '-' : `(${cursor}`,
      limit,
      this.topic(channel),
      SWEEP_LIMIT,
      PAGE_SCAN_EXTRA,
    );
    const listed = members.flatMap((json) => (json ? [JSON.parse(json) as PresenceMember] : []));
    // Lua's false arrives as null.
    return { count, members: listed, cursor: next ?? undefined };
  }

  /** The keys and the first ARGV of the scripts that write leases: now, lease end, node, topic, sweep limit. */
  private leaseArgs(channel: string): (string | number)[] {
    const now = Date.now();
    return [...this.keys(channel), now, now + this.leaseMs, this.nodeId, this.topic(channel), SWEEP_LIMIT];
  }

  private keys(channel: string): Keys4 {
    const base = `${this.prefix}:{c:${channel}}:presence:`;
    return [`${base}index`, `${base}members`, `${base}owners`, `${base}leases`];
  }
}
