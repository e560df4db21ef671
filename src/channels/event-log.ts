/**
 * The per-channel event log: a Redis Stream per channel is the source of truth.
 * An event ID is a stream ID, monotonic per channel, so resume is `XRANGE (after +`.
 * Retention is bounded with approximate MAXLEN (cheap trimming by whole nodes);
 * `XINFO STREAM` (Redis ≥ 7: first retained entry, entries added, max deleted ID)
 * tells whether events after a client's position were trimmed away, and the log's
 * epoch (log-scripts.ts) whether the history a client's position belongs to still
 * exists — so a gap is reported, never silent.
 *
 * An append is one Lua script: XADD, then PUBLISH of the same entry on the pub/sub
 * channel named like the stream key. Scripts run atomically, so the published order
 * is the stream order; the channel reader (channel-reader.ts) delivers live from
 * those messages and reads the stream only to catch up.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type EventStore,
  type LoggedEvent,
  type LogPage,
  type ReplayPlan,
  ZERO_ID,
} from '../core/ports/event-store.ts';
import type { Keys } from '../redis/keys.ts';
import { compareEventIds, INBOX_PREFIX, isEventId } from '../shared/identifiers.ts';
import { APPEND_SCRIPT, HEAD_SCRIPT, RENEW_EPOCH_SCRIPT } from './log-scripts.ts';
import { lostUpTo, newestId } from './stream-info.ts';

type ScriptedRedis = Redis & {
  tetherAppend(key: string, ...args: (string | number)[]): Promise<string>;
  tetherLogHead(key: string, newEpoch: string): Promise<[string | null, unknown[] | null]>;
  tetherRenewEpoch(key: string, expected: string, next: string): Promise<string | null>;
};

/**
 * A session's inbox lives as long as its session and expires when idle (action
 * replies): its continuity is the session's, so it has no epoch of its own.
 */
export const SESSION_EPOCH = 'session';

/** The head of a log: its epoch and the last ID it ever generated. */
export interface LogHead {
  epoch: string;
  newest: string;
}

/** A fresh epoch: 60 random bits, base 36 — never reused in practice. */
export function newEpoch(): string {
  return randomBytes(8).readBigUInt64BE().toString(36).slice(0, 12);
}

/** Stream fields: `d` data JSON, `t` ms timestamp, `c` correlation ID, `p` traceparent. */
export class EventLog implements EventStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly retention: number,
  ) {
    const scripts = {
      tetherAppend: APPEND_SCRIPT,
      tetherLogHead: HEAD_SCRIPT,
      tetherRenewEpoch: RENEW_EPOCH_SCRIPT,
    };
    for (const [name, lua] of Object.entries(scripts))
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    this.redis = redis as ScriptedRedis;
  }

  /**
   * Append and announce one event. `json` is stored and delivered as it is.
   * `traceparent` only for sampled traces (src/observability/trace-context.ts
   * `sampledTraceparent`); `ttlMs` makes the whole stream expire that long after its
   * last append (action inboxes).
   */
  async append(
    channel: string,
    json: string,
    correlationId: string,
    traceparent?: string,
    ttlMs = 0,
  ): Promise<LoggedEvent> {
    const ts = Date.now();
    const id = await this.redis.tetherAppend(
      this.keys.channel(channel),
      this.retention,
      json,
      ts,
      correlationId,
      traceparent ?? '',
      ttlMs,
      isInbox(channel) ? '' : newEpoch(),
    );
    return { id, json, ts, correlationId, traceparent };
  }

  /**
   * Events with ID in (after, until], oldest first, at most `count`, and whether
   * events after `after` were trimmed first — read in one MULTI, so no trim can
   * fall between the check and the read.
   */
  async page(channel: string, after: string, until: string, count: number): Promise<LogPage> {
    const key = this.keys.channel(channel);
    const replies = await this.redis
      .multi()
      .xinfo('STREAM', key)
      .xrange(key, `(${after}`, until, 'COUNT', count)
      .exec();
    const [info, range] = replies ?? [];
    if (range?.[0]) throw range[0];
    const entries = (range?.[1] ?? []) as [string, string[]][];
    const events = entries.map(([id, fields]) => toEvent(id, fields));
    if (info?.[0]) {
      if (String(info[0]).includes('no such key')) return { events, gap: false };
      throw info[0];
    }
    return { events, gap: compareEventIds(after, lostUpTo(info?.[1] as unknown[])) < 0 };
  }

  /** The log's epoch (given one now if it has none) and newest ID. */
  async head(channel: string): Promise<LogHead> {
    const [epoch, info] = await this.headOf(channel);
    return { epoch, newest: info ? newestId(info) : ZERO_ID };
  }

  /**
   * The log's history was found broken — its newest ID is below what was already
   * delivered from it (a failover to a replica that missed writes): give it a new
   * epoch, unless someone already did. Returns the epoch it has now.
   */
  async renewEpoch(channel: string, broken: string): Promise<string> {
    if (isInbox(channel)) return SESSION_EPOCH;
    const now = await this.redis.tetherRenewEpoch(this.keys.channel(channel), broken, newEpoch());
    return now ?? (await this.head(channel)).epoch;
  }

  /**
   * Where delivery can continue for a client whose last seen event is `after` in
   * epoch `epoch` (undefined when the client has none to give). Lost history is
   * reported (`recovered: false`) and delivery then starts at the beginning of what
   * the log holds now (after what it trimmed):
   * - the epoch differs: the log was created anew (Redis lost it, or it was restored);
   * - `after` is past the newest ID the log ever generated: its IDs went backwards;
   * - events after `after` were trimmed: delivery continues after the lost ones.
   * A position that is not a valid event ID is treated as one from a lost history.
   */
  async plan(channel: string, after: string, epoch?: string): Promise<ReplayPlan> {
    const [current, info] = await this.headOf(channel);
    const newest = info ? newestId(info) : ZERO_ID;
    const lost = info ? lostUpTo(info) : ZERO_ID;
    const beyond = !isEventId(after) || compareEventIds(after, newest) > 0;
    // An idle inbox expires; nothing in it is lost to a live session. Start from what it holds.
    if (isInbox(channel) && (!info || beyond)) return { recovered: true, after: newest, epoch: current };
    if (!isInbox(channel) && ((epoch !== undefined && epoch !== current) || beyond))
      return { recovered: false, after: lost, epoch: current };
    if (compareEventIds(after, lost) >= 0) return { recovered: true, after, epoch: current };
    return { recovered: false, after: lost, epoch: current };
  }

  /** [epoch, XINFO STREAM reply]: an inbox has the session's epoch, and no stream until a reply. */
  private async headOf(channel: string): Promise<[string, unknown[] | null]> {
    if (isInbox(channel)) {
      const [, info] = await this.redis.tetherLogHead(this.keys.channel(channel), '');
      return [SESSION_EPOCH, info];
    }
    const [epoch, info] = await this.redis.tetherLogHead(this.keys.channel(channel), newEpoch());
    return [epoch ?? '', info];
  }
}

const isInbox = (channel: string) => channel.startsWith(INBOX_PREFIX);

/** An event from its pub/sub announcement (APPEND_SCRIPT's message). */
export function fromAnnouncement(message: string): LoggedEvent {
  const newline = message.indexOf('\n');
  const [id, ts, correlationId, traceparent] = JSON.parse(message.slice(0, newline)) as string[];
  return {
    id: id as string,
    json: message.slice(newline + 1),
    ts: Number(ts),
    correlationId: correlationId || undefined,
    traceparent: traceparent || undefined,
  };
}

export function toEvent(id: string, fields: string[]): LoggedEvent {
  let json = 'null';
  let ts = 0;
  let correlationId: string | undefined;
  let traceparent: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name === 'd') json = fields[i + 1] ?? 'null';
    else if (name === 't') ts = Number(fields[i + 1]);
    else if (name === 'c') correlationId = fields[i + 1];
    else if (name === 'p') traceparent = fields[i + 1];
  }
  return { id, json, ts, correlationId, traceparent };
}
