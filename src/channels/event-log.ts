/**
 * The per-channel event log: a Redis Stream per channel is the source of truth.
 * An event ID is a stream ID, monotonic per channel, so resume is `XRANGE (after +`.
 * Retention is bounded with approximate MAXLEN (cheap trimming by whole nodes);
 * `XINFO STREAM` (Redis ≥ 7: first retained entry, entries added, max deleted ID)
 * tells whether events after a client's position were trimmed away, so a gap is
 * reported, never silent.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.ts';
import { compareEventIds, INBOX_PREFIX } from '../shared/frames.ts';

export interface LoggedEvent {
  id: string;
  /** The event's data as JSON text, spliced into frames without re-serializing. */
  json: string;
  ts: number;
  /** Who appended it (field `c`): a connection's correlation ID, or an HTTP request's. */
  correlationId?: string;
  /** W3C traceparent of the sampled span that appended it (field `p`), so delivery joins that trace. */
  traceparent?: string;
}

export interface ReplayPlan {
  /** false when events after the requested position were trimmed. */
  recovered: boolean;
  /** Delivery continues with events whose ID is greater than this. */
  after: string;
}

export const ZERO_ID = '0-0';

export class EventLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly retention: number,
  ) {}

  /** `traceparent` only for sampled traces (src/observability/trace-context.ts `sampledTraceparent`). */
  async append(
    channel: string,
    json: string,
    correlationId: string,
    traceparent?: string,
  ): Promise<LoggedEvent> {
    const ts = Date.now();
    const traced = traceparent ? ['p', traceparent] : [];
    const id = await this.redis.xadd(
      this.keys.channel(channel),
      'MAXLEN',
      '~',
      this.retention,
      '*',
      'd',
      json,
      't',
      String(ts),
      'c',
      correlationId,
      ...traced,
    );
    return { id: id as string, json, ts, correlationId, traceparent };
  }

  /** Events with ID in (after, until], oldest first, at most `count`. */
  async range(channel: string, after: string, until: string, count: number): Promise<LoggedEvent[]> {
    const entries = await this.redis.xrange(this.keys.channel(channel), `(${after}`, until, 'COUNT', count);
    return entries.map(([id, fields]) => toEvent(id, fields));
  }

  /** The newest event ID in the channel, or 0-0 when it has none. */
  async lastId(channel: string): Promise<string> {
    const [newest] = await this.redis.xrevrange(this.keys.channel(channel), '+', '-', 'COUNT', 1);
    return newest ? newest[0] : ZERO_ID;
  }

  /** Where delivery can continue for a client whose last seen event is `after`. */
  async plan(channel: string, after: string): Promise<ReplayPlan> {
    let info: unknown[];
    try {
      info = (await this.redis.xinfo('STREAM', this.keys.channel(channel))) as unknown[];
    } catch (error) {
      if (String(error).includes('no such key')) return { recovered: true, after };
      throw error;
    }
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at < 0 ? undefined : String(info[at + 1]);
    };
    // max-deleted-entry-id covers XDEL only: trimming (MAXLEN) does not move it. Trimmed
    // entries are exactly those before the first retained one, and we cannot know the
    // last trimmed ID, so anything before the first retained entry counts as a gap (a
    // client whose last event was the very last one trimmed is told so needlessly).
    let lost = field('max-deleted-entry-id') ?? ZERO_ID;
    const length = Number(field('length') ?? 0);
    if (Number(field('entries-added') ?? 0) > length) {
      const trimmedBefore =
        length > 0 ? predecessorId(field('recorded-first-entry-id') ?? ZERO_ID) : field('last-generated-id');
      if (trimmedBefore && compareEventIds(trimmedBefore, lost) > 0) lost = trimmedBefore;
    }
    if (compareEventIds(after, lost) >= 0) return { recovered: true, after };
    return { recovered: false, after: lost };
  }
}

const MAX_SEQ = 18446744073709551615n;

/** The greatest stream ID below `id` (IDs are <ms>-<seq>, seq a 64-bit counter). */
function predecessorId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-${MAX_SEQ}` : ZERO_ID;
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

/**
 * The frame for a logged event, built once per event per process and shared by
 * every subscriber. Inbox channels carry action replies: their stored JSON is the
 * reply's fields, spliced into a `reply` frame.
 */
export function eventFrameText(channel: string, event: LoggedEvent): string {
  if (channel.startsWith(INBOX_PREFIX) && event.json.startsWith('{"')) {
    // The worker stores the asking connection's correlation ID with the reply: it goes back
    // to the client too, also when the reply reaches a connection that resumed elsewhere.
    const correlation = event.correlationId ? `"correlationId":${JSON.stringify(event.correlationId)},` : '';
    return `{"type":"reply","channel":${JSON.stringify(channel)},"id":"${event.id}","ts":${event.ts},${correlation}${event.json.slice(1)}`;
  }
  return `{"type":"event","channel":${JSON.stringify(channel)},"id":"${event.id}","ts":${event.ts},"data":${event.json}}`;
}
