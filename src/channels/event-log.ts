/**
 * The per-channel event log: a Redis Stream per channel is the source of truth.
 * An event ID is a stream ID, monotonic per channel, so resume is `XRANGE (after +`.
 * Retention is bounded with approximate MAXLEN (cheap trimming by whole nodes);
 * `XINFO STREAM` (Redis ≥ 7: first retained entry, entries added, max deleted ID)
 * tells whether events after a client's position were trimmed away, so a gap is
 * reported, never silent.
 *
 * An append is one Lua script: XADD, then PUBLISH of the same entry on the pub/sub
 * channel named like the stream key. Scripts run atomically, so the published order
 * is the stream order; the channel reader (channel-reader.ts) delivers live from
 * those messages and reads the stream only to catch up.
 */
import type { Redis } from 'ioredis';
import {
  type EventStore,
  type LoggedEvent,
  type LogPage,
  type ReplayPlan,
  ZERO_ID,
} from '../core/ports/event-store.ts';
import type { Keys } from '../redis/keys.ts';
import { compareEventIds } from '../shared/frames.ts';

/**
 * KEYS[1] stream; ARGV: retention, data JSON, ts, correlation ID, traceparent or '',
 * TTL ms or '0'. The message is `[id, ts, correlationId, traceparent]` as JSON, a
 * newline, then the data JSON (a correlation ID may hold any character; cjson
 * escapes it, so the first newline always ends the header).
 */
const APPEND_SCRIPT = `
local fields = {'d', ARGV[2], 't', ARGV[3], 'c', ARGV[4]}
if ARGV[5] ~= '' then
  fields[7] = 'p'
  fields[8] = ARGV[5]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if ARGV[6] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
redis.call('PUBLISH', KEYS[1], cjson.encode({id, ARGV[3], ARGV[4], ARGV[5]}) .. '\\n' .. ARGV[2])
return id`;

type AppendingRedis = Redis & {
  tetherAppend(key: string, ...args: (string | number)[]): Promise<string>;
};

/** Stream fields: `d` data JSON, `t` ms timestamp, `c` correlation ID, `p` traceparent. */
export class EventLog implements EventStore {
  private readonly redis: AppendingRedis;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly retention: number,
  ) {
    if (!('tetherAppend' in redis))
      redis.defineCommand('tetherAppend', { numberOfKeys: 1, lua: APPEND_SCRIPT });
    this.redis = redis as AppendingRedis;
  }

  /**
   * Append and announce one event. `traceparent` only for sampled traces
   * (src/observability/trace-context.ts `sampledTraceparent`); `ttlMs` makes the
   * whole stream expire that long after its last append (action inboxes).
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

  /** The newest event ID in the channel, or 0-0 when it has none. */
  async lastId(channel: string): Promise<string> {
    const [newest] = await this.redis.xrevrange(this.keys.channel(channel), '+', '-', 'COUNT', 1);
    return newest ? newest[0] : ZERO_ID;
  }

  /**
   * Where delivery can continue for a client whose last seen event is `after`.
   * A position beyond anything the channel ever held (a client's own bookkeeping
   * gone wrong, or a stream that expired) is taken back to the channel's newest ID:
   * waiting for the log to reach it would stall the channel for that client.
   */
  async plan(channel: string, after: string): Promise<ReplayPlan> {
    let info: unknown[];
    try {
      info = (await this.redis.xinfo('STREAM', this.keys.channel(channel))) as unknown[];
    } catch (error) {
      if (String(error).includes('no such key')) return { recovered: true, after: ZERO_ID };
      throw error;
    }
    const newest = infoField(info, 'last-generated-id') ?? ZERO_ID;
    if (compareEventIds(after, newest) > 0) return { recovered: true, after: newest };
    const lost = lostUpTo(info);
    if (compareEventIds(after, lost) >= 0) return { recovered: true, after };
    return { recovered: false, after: lost };
  }
}

function infoField(info: unknown[], name: string): string | undefined {
  const at = info.indexOf(name);
  return at < 0 ? undefined : String(info[at + 1]);
}

/**
 * The greatest ID that may have been removed from the stream (XINFO STREAM reply):
 * a reader whose position is below it has missed events.
 * max-deleted-entry-id covers XDEL only: trimming (MAXLEN) does not move it. Trimmed
 * entries are exactly those before the first retained one, and we cannot know the
 * last trimmed ID, so anything before the first retained entry counts as a gap (a
 * client whose last event was the very last one trimmed is told so needlessly).
 */
function lostUpTo(info: unknown[]): string {
  let lost = infoField(info, 'max-deleted-entry-id') ?? ZERO_ID;
  const length = Number(infoField(info, 'length') ?? 0);
  if (Number(infoField(info, 'entries-added') ?? 0) > length) {
    const trimmedBefore =
      length > 0
        ? predecessorId(infoField(info, 'recorded-first-entry-id') ?? ZERO_ID)
        : infoField(info, 'last-generated-id');
    if (trimmedBefore && compareEventIds(trimmedBefore, lost) > 0) lost = trimmedBefore;
  }
  return lost;
}

const MAX_SEQ = 18446744073709551615n;

/** The greatest stream ID below `id` (IDs are <ms>-<seq>, seq a 64-bit counter). */
function predecessorId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-${MAX_SEQ}` : ZERO_ID;
}

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
