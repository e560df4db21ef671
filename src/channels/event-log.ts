/**
 * The per-channel event log: a Redis Stream per channel is the source of truth.
 * An event ID is a stream ID, monotonic per channel, so resume is `XRANGE (after +`.
 * Retention is bounded with approximate MAXLEN (cheap trimming by whole nodes);
 * `XINFO STREAM` (Redis ≥ 7: first retained entry, entries added, max deleted ID)
 * tells whether events after a client's position were trimmed away, and the log's
 * epoch (log-scripts.ts) whether the history a client's position belongs to still
 * exists — so a gap is reported, never silent.
 *
 * An append is one Lua script: XADD, then PUBLISH (or SPUBLISH: REDIS_PUBSUB) of the
 * same entry on the pub/sub channel named like the stream key. Scripts run atomically, so the published order
 * is the stream order; the channel reader (channel-reader.ts) delivers live from
 * those messages and reads the stream only to catch up.
 */

import {
  type Appended,
  type AppendOptions,
  AppendRefusedError,
  type EventStore,
  type HistoryPage,
  type HistoryQuery,
  type LoggedEvent,
  type LogPage,
  type ReplayPlan,
  ZERO_ID,
} from '../core/ports/event-store.ts';
import type { Keys } from '../redis/keys.ts';
import { defineScripts, isNoScript, LuaScript } from '../redis/lua-scripts.ts';
import { type PubSubMode, type RedisConnection, serverOf } from '../redis/redis-target.ts';
import { isRefusedUnrun } from '../redis/store-errors.ts';
import { compareEventIds, INBOX_PREFIX, isEventId } from '../shared/identifiers.ts';
import { randomView } from '../shared/random-page.ts';
import { AckLanes, type AckReplies } from './ack-lanes.ts';
import { AckedPositions } from './acked-positions.ts';
import {
  historyRange,
  type LogHeadInfo,
  planPosition,
  positionMissing,
  sinceGap,
  trimmedBehind,
} from './log-positions.ts';
import {
  APPEND_SCRIPT,
  HEAD_SCRIPT,
  HISTORY_SCRIPT,
  PAGE_SCRIPT,
  RENEW_EPOCH_SCRIPT,
} from './log-scripts.ts';
import { lostUpTo, newestId } from './stream-info.ts';

const APPEND = new LuaScript(APPEND_SCRIPT, 2);
const LOG_SCRIPTS = {
  tetherAppend: APPEND,
  tetherLogHead: new LuaScript(HEAD_SCRIPT, 1),
  tetherRenewEpoch: new LuaScript(RENEW_EPOCH_SCRIPT, 1),
  tetherHistory: new LuaScript(HISTORY_SCRIPT, 1),
  tetherPage: new LuaScript(PAGE_SCRIPT, 1),
};

/** APPEND's keys and arguments, and its reply: the event's ID, a repeat of its idempotency key, a renewed epoch. */
type AppendArgs = [key: string, idempotencyKey: string, ...args: (string | number)[]];
type AppendReply = [id: string, repeated: number, renewed: number];

type ScriptedRedis = RedisConnection & {
  tetherAppend(...args: AppendArgs): Promise<AppendReply>;
  tetherLogHead(
    key: string,
    newEpoch: string,
    unusedTtlMs: number,
    position: string,
    pubsub: PubSubMode,
  ): Promise<[string | null, unknown[] | null, number, string]>;
  tetherRenewEpoch(key: string, expected: string, next: string, pubsub: PubSubMode): Promise<string | null>;
  tetherHistory(
    key: string,
    ...args: (string | number)[]
  ): Promise<[string | null, unknown[] | null, [string, string[]][], number, string]>;
  tetherPage(
    key: string,
    after: string,
    until: string,
    count: number,
    maxBytes: number,
  ): Promise<[unknown[] | null, [string, string[]][], number]>;
};

/**
 * A page's byte budget for replays and catch-ups (`page`): its events stop once their
 * fields pass it, so each read Redis makes for them stays near this, not `count` × 64 KiB.
 */
export const PAGE_MAX_BYTES = 1024 * 1024;

/** How much of a channel's log is kept: events by count (approximate) and by age (ms; 0: no limit). */
export interface Retention {
  maxEvents: number;
  maxAgeMs: number;
}

/**
 * A session's inbox lives as long as its session and expires when idle (action
 * replies): its continuity is the session's, so it has no epoch of its own.
 */
export const SESSION_EPOCH = 'session';

/** The head of a log: its epoch and the last ID it ever generated. */
export interface LogHead {
  epoch: string;
  newest: string;
  /** The position asked about was lost from this log (log-positions.ts `positionMissing`). */
  missing: boolean;
}

const EPOCH_DIGITS = 12;
const BASE32 = '0123456789abcdefghijklmnopqrstuv';

/**
 * A fresh epoch: 60 random bits as 12 base-32 digits (a subset of EPOCH_PATTERN) — never
 * reused in practice. Every append offers one (the script keeps it only for a log that
 * has none), so it must be cheap: its bytes come from a random page (src/shared/random-page.ts).
 */
export function newEpoch(): string {
  const bytes = randomView(EPOCH_DIGITS);
  let epoch = '';
  for (const byte of bytes) epoch += BASE32[byte & 31];
  return epoch;
}

export interface EventLogOptions {
  /** How appends are announced (REDIS_PUBSUB): the channel reader must listen the same way. @defaultValue 'classic' */
  pubsub?: PubSubMode;
  /**
   * A connection for appends and announcements alone (src/redis/redis-clients.ts `appends`):
   * Redis answers a connection's commands in order, so here an append's reply never waits
   * behind a replay's pages or a storm's session reads. @defaultValue the log's own
   */
  appendConnection?: RedisConnection;
  /**
   * Replicas that must confirm an append before it counts as done (PUBLISH_ACK_REPLICAS):
   * WAIT is sent with the append, to the stream's node. @defaultValue 0
   */
  ackReplicas?: number;
  /**
   * Connections for those appends (ack-lanes.ts: one WAIT in flight on each, behind a
   * batch of appends): WAIT blocks the connection it is sent on, so it must not be the
   * one every other command shares. @defaultValue the log's own
   */
  ackConnections?: RedisConnection[];
  /**
   * How long a publish may wait for its replicas, from when it was asked, before it is
   * refused as not durable (ack-lanes.ts: its WAIT gets what is left of it), ms. @defaultValue 500
   */
  ackTimeoutMs?: number;
  /**
   * How long a channel log that never held an event — made by a subscribe or a history
   * read, to give positions an epoch — is kept after its last read, ms; 0 keeps it for
   * good. Without it every name a client reads would stay in Redis. @defaultValue 0
   */
  unusedTtlMs?: number;
  /**
   * An append found the newest event this process had acked on `channel` gone from its
   * log, and gave the log a new epoch (APPEND_SCRIPT): for the log. Its subscribers learn
   * from the epoch in the event's announcement.
   */
  historyLost?: (channel: string) => void;
}

/** Stream fields: `d` data JSON, `t` ms timestamp, `c` correlation ID, `p` traceparent. */
export class EventLog implements EventStore {
  private readonly redis: ScriptedRedis;
  /** Where appends and announcements go (`appendConnection`, else `redis`). */
  private readonly appends: ScriptedRedis;

  private readonly retentionOf: (channel: string) => Retention;
  private readonly ackConnections: ScriptedRedis[];
  /** Which ack connection each append with WAIT goes on, with which others, or refused instead (ack-lanes.ts). */
  private readonly ackLanes: AckLanes<AppendArgs, AppendReply> | undefined;
  /** The newest event acked per channel, confirmed still held after a reconnect (confirmAcked). */
  private readonly acked = new AckedPositions();
  /** While confirmAcked runs: positions are planned after it, against the epochs it leaves. */
  private confirming: Promise<unknown> | undefined;

  /** EventLogOptions.unusedTtlMs: how long a log read but never published to outlives its last read. */
  readonly unusedTtlMs: number;
  /** Where appends and new epochs are announced (EventLogOptions.pubsub). */
  private readonly pubsubMode: PubSubMode;

  /** @param retention - events kept per channel, or each channel's retention (its namespace's). */
  constructor(
    redis: RedisConnection,
    private readonly keys: Keys,
    retention: number | ((channel: string) => Retention),
    private readonly options: EventLogOptions = {},
  ) {
    defineScripts(redis, LOG_SCRIPTS);
    this.redis = redis as ScriptedRedis;
    this.unusedTtlMs = options.unusedTtlMs ?? 0;
    this.pubsubMode = options.pubsub ?? 'classic';
    const appends = options.appendConnection;
    if (appends) defineScripts(appends, { tetherAppend: APPEND });
    this.appends = (appends ?? redis) as ScriptedRedis;
    this.ackConnections = (options.ackConnections ?? []).map((connection) => {
      defineScripts(connection, { tetherAppend: APPEND });
      return connection as ScriptedRedis;
    });
    if (options.ackReplicas)
      // One lane per master: two batches in flight on two connections interleave in Redis,
      // and one client's publishes to a channel were stored out of the order it sent them.
      this.ackLanes = new AckLanes(
        1,
        options.ackReplicas,
        options.ackTimeoutMs ?? 500,
        (lane, batch, waitMs) => this.sendReplicated(lane, batch, waitMs),
      );
    this.retentionOf =
      typeof retention === 'number' ? () => ({ maxEvents: retention, maxAgeMs: 0 }) : retention;
  }

  /**
   * Append and announce one event. `json` is stored and delivered as it is.
   * `traceparent` only for sampled traces (src/observability/trace-context.ts
   * `sampledTraceparent`); `ttlMs` makes the whole stream expire that long after its
   * last append (action inboxes). With `idempotency`, a repeat of the key within its
   * window appends nothing: the answer is the first event's ID, `duplicate` set, and
   * the other fields describe this (unstored) attempt.
   */
  async append(
    channel: string,
    json: string,
    correlationId: string,
    options: AppendOptions = {},
  ): Promise<Appended> {
    const askedAt = performance.now();
    const ts = Date.now();
    const key = this.keys.channel(channel);
    const { maxEvents, maxAgeMs } = this.retentionOf(channel);
    const { traceparent, idempotency } = options;
    const args: AppendArgs = [
      key,
      idempotency ? idempotencyKey(key, idempotency.key) : key,
      maxEvents,
      json,
      ts,
      correlationId,
      traceparent ?? '',
      options.ttlMs ?? 0,
      isInbox(channel) ? '' : newEpoch(),
      maxAgeMs,
      idempotency?.windowMs ?? 0,
      this.pubsubMode,
      this.acked.newestOf(channel) ?? '', // looked for in the log (APPEND_SCRIPT): lost history
    ];
    const [id, repeated, renewed] = await (this.ackLanes
      ? this.ackLanes.submit(serverOf(this.ackConnections[0] ?? this.redis, key), askedAt, args)
      : this.appends.tetherAppend(...args)
    ).catch((error: unknown) => {
      // A refusal that says the script never ran: the publish may say nothing was written.
      // It is the only send's: a drop fails an append, never sends it again
      // (src/redis/unanswered-on-drop.ts).
      throw isRefusedUnrun(error)
        ? new AppendRefusedError((error as Error).message, { cause: error })
        : error;
    });
    if (renewed === 1) this.options.historyLost?.(channel);
    if (!isInbox(channel)) this.acked.note(channel, id);
    return { id, json, ts, correlationId, traceparent, duplicate: repeated === 1 };
  }

  /**
   * An ephemeral event: the append's announcement alone, in the same message format,
   * with an empty ID (fromAnnouncement marks it). Nothing is stored, so nothing replays it.
   */
  async announce(channel: string, json: string, correlationId: string): Promise<void> {
    const header = JSON.stringify(['', String(Date.now()), correlationId, '']);
    const message = `${header}\n${json}`;
    // The reader listens where appends announce: SSUBSCRIBE on a sharded cluster (REDIS_PUBSUB).
    if (this.pubsubMode === 'sharded') await this.appends.spublish(this.keys.channel(channel), message);
    else await this.appends.publish(this.keys.channel(channel), message);
  }

  /**
   * Appends and one WAIT in one pipeline, on ack connection `lane` (never the shared one,
   * which WAIT would hold): WAIT counts the replicas that have every write made before it
   * on the connection, so it confirms them all. `lanes` (ack-lanes.ts) batches them, per
   * master: on a cluster a pipeline goes whole to the node of its keys, so WAIT counts
   * the replicas of the streams' own master.
   */
  private async sendReplicated(
    lane: number,
    batch: AppendArgs[],
    waitMs: number,
  ): Promise<AckReplies<AppendReply>> {
    const connection = this.ackConnections[lane] ?? this.redis;
    const send = (appends: AppendArgs[]) => {
      const pipeline = connection.pipeline();
      for (const args of appends) APPEND.queue(pipeline, args);
      pipeline.wait(this.options.ackReplicas ?? 0, waitMs);
      return pipeline.exec().then((replies) => replies ?? []);
    };
    const replies = await send(batch);
    // The node's script cache was flushed: those were not appended; once more, with the text.
    const missed = batch.flatMap((_, i) => {
      const error = replies[i]?.[0];
      return error && isNoScript(error) ? [i] : [];
    });
    if (missed.length > 0) {
      const again = await send(missed.map((i) => batch[i] as AppendArgs));
      for (const [j, i] of missed.entries()) replies[i] = again[j] ?? [new Error('append: no reply'), null];
      replies[batch.length] = again[missed.length] ?? [new Error('WAIT: no reply'), null];
    }
    const waited = replies[batch.length];
    if (!waited || waited[0]) throw waited?.[0] ?? new Error('WAIT: no reply');
    return {
      replies: batch.map(
        (_, i) => (replies[i] ?? [new Error('append: no reply'), null]) as [Error | null, AppendReply],
      ),
      confirmed: Number(waited[1]),
    };
  }

  /**
   * A page for a history request: `since` exclusive in the direction of travel. Not
   * whole, it says why (log-positions.ts `sinceGap`, the classification subscribe and
   * resume use): a position in a history that is gone ('lost') is answered with the page
   * from the start (forward) or the top (reverse); one the log lost events at or after
   * ('missing') and, paging forward, one past a trim ('trimmed') with the page after it;
   * paging backward, a page that reached the oldest event held after a trim ('trimmed').
   */
  async history(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    if (this.confirming) await this.confirming;
    const { head, ...page } = await this.historyPage(channel, query.since, query);
    const gap =
      query.since === undefined ? undefined : sinceGap(head, query.since, query.epoch, query.reverse);
    if (gap === undefined) {
      const behind = query.reverse && !isInbox(channel) && trimmedBehind(head, page.events.at(-1)?.id);
      return behind ? { ...page, recovered: false, gap: 'trimmed' } : page;
    }
    if (gap === 'lost') {
      const { head: _, ...again } = await this.historyPage(channel, undefined, query);
      return { ...again, recovered: false, gap };
    }
    return { ...page, recovered: false, gap };
  }

  private async historyPage(
    channel: string,
    since: string | undefined,
    query: HistoryQuery,
  ): Promise<HistoryPage & { head: LogHeadInfo }> {
    const range = historyRange(since, query.reverse);
    const look = since !== undefined && isEventId(since) ? since : '';
    const [epoch, info, entries, held, start] = await this.redis.tetherHistory(
      this.keys.channel(channel),
      isInbox(channel) ? '' : newEpoch(),
      query.reverse ? 'rev' : 'fwd',
      range.from,
      range.to,
      range.empty ? 0 : query.limit,
      query.maxBytes,
      this.unusedTtlMs,
      this.pubsubMode,
      look,
    );
    const inbox = isInbox(channel);
    const head: LogHeadInfo = {
      epoch: inbox ? SESSION_EPOCH : (epoch ?? ''),
      info,
      missing: !inbox && look !== '' && positionMissing(info, look, held === 1),
      start: inbox ? ZERO_ID : start,
    };
    return {
      events: entries.map(([id, fields]) => toEvent(id, fields)),
      epoch: head.epoch,
      top: head.info ? newestId(head.info) : ZERO_ID,
      recovered: true,
      head,
    };
  }

  /**
   * Events with ID in (after, until], oldest first, at most `count` and about
   * PAGE_MAX_BYTES, and whether events after `after` were trimmed first — read in one
   * script, so no trim can fall between the check and the read.
   */
  async page(channel: string, after: string, until: string, count: number): Promise<LogPage> {
    const [info, entries, more] = await this.redis.tetherPage(
      this.keys.channel(channel),
      `(${after}`,
      until,
      count,
      PAGE_MAX_BYTES,
    );
    const events = entries.map(([id, fields]) => toEvent(id, fields));
    const gap = info !== null && compareEventIds(after, lostUpTo(info)) < 0;
    return { events, gap, more: more === 1 };
  }

  /**
   * The log's epoch (given one now if it has none) and newest ID; with `position`, whether
   * the log lost that event (its epoch is not renewed here: the caller decides).
   */
  async head(channel: string, position?: string): Promise<LogHead> {
    const [epoch, info, missing] = await this.headOf(channel, position);
    return { epoch, newest: info ? newestId(info) : ZERO_ID, missing };
  }

  /**
   * The log's history was found broken — its newest ID is below what was already
   * delivered from it (a failover to a replica that missed writes): give it a new
   * epoch, unless someone already did. Returns the epoch it has now.
   */
  async renewEpoch(channel: string, broken: string): Promise<string> {
    if (isInbox(channel)) return SESSION_EPOCH;
    const now = await this.redis.tetherRenewEpoch(
      this.keys.channel(channel),
      broken,
      newEpoch(),
      this.pubsubMode,
    );
    return now ?? (await this.head(channel)).epoch;
  }

  /**
   * Where delivery can continue for a client whose last seen event is `after` in
   * epoch `epoch` (undefined when the client has none to give): log-positions.ts
   * `planPosition` says how lost history is reported.
   */
  async plan(
    channel: string,
    after: string,
    epoch?: string,
    options: { replay?: boolean } = {},
  ): Promise<ReplayPlan> {
    if (this.confirming) await this.confirming;
    const [current, info, lost, start] = await this.headOf(channel, after);
    // The client's last event is gone from the history it belongs to: it is told. The epoch
    // is not renewed on a client's word (any reader could make one up and cost everyone a
    // full replay); a reader of the channel or the process that acked the event does that.
    return planPosition({ epoch: current, info, missing: lost, start }, after, epoch, {
      inbox: isInbox(channel),
      replay: options.replay ?? true,
    });
  }

  /**
   * After Redis came back (acked-positions.ts): look for the newest acked event of every
   * channel this process appended to; a log that lost one gets a new epoch. Returns those
   * channels. Plans and history pages made meanwhile wait for it.
   */
  confirmAcked(): Promise<string[]> {
    const run = this.confirmEach(this.acked.snapshot());
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.confirming = settled;
    void settled.then(() => {
      if (this.confirming === settled) this.confirming = undefined;
    });
    return run;
  }

  private async confirmEach(positions: [string, string][]): Promise<string[]> {
    const broken: string[] = [];
    for (let i = 0; i < positions.length; i += CONFIRM_BATCH) {
      const batch = positions.slice(i, i + CONFIRM_BATCH);
      const kept = await Promise.all(batch.map(([channel, id]) => this.holds(channel, id)));
      batch.forEach(([channel], at) => {
        if (!kept[at]) broken.push(channel);
      });
    }
    return broken;
  }

  /**
   * Whether `channel`'s log still holds `id` (or dropped it by retention); if not, a new epoch.
   * An acked ID past the log's newest is lost too (the IDs went backwards).
   */
  private async holds(channel: string, id: string): Promise<boolean> {
    const [epoch, info, missing] = await this.headOf(channel, id);
    if (!info) return true;
    const held = !missing && compareEventIds(newestId(info), id) >= 0;
    if (!held) await this.renewEpoch(channel, epoch);
    return held;
  }

  /**
   * [epoch, the stream head (log-scripts.ts STREAM_HEAD), whether `position` was lost from it
   * (positionMissing), where the epoch began (log-scripts.ts FIND_EPOCH)]: an inbox has the
   * session's epoch, and no stream until a reply.
   */
  private async headOf(
    channel: string,
    position?: string,
  ): Promise<[string, unknown[] | null, boolean, string]> {
    const look = position !== undefined && isEventId(position) ? position : '';
    const inbox = isInbox(channel);
    const [epoch, info, held, start] = await this.redis.tetherLogHead(
      this.keys.channel(channel),
      inbox ? '' : newEpoch(),
      inbox ? 0 : this.unusedTtlMs,
      look,
      this.pubsubMode,
    );
    const missing = look !== '' && positionMissing(info, look, held === 1);
    return [inbox ? SESSION_EPOCH : (epoch ?? ''), info, missing, inbox ? ZERO_ID : (start ?? ZERO_ID)];
  }
}

const isInbox = (channel: string) => channel.startsWith(INBOX_PREFIX);

/** Channels confirmed at once after a reconnect (confirmAcked): a few round trips' worth, not thousands. */
const CONFIRM_BATCH = 64;

/** Where a publish's idempotency key is kept: beside the stream, on its slot. */
const idempotencyKey = (streamKey: string, key: string) => `${streamKey}:idem:${key}`;

/** A log given a new epoch without an append (log-scripts.ts ANNOUNCE_EPOCH). */
export interface EpochNotice {
  epoch: string;
  /** The log's newest ID when it got the epoch: later appends are announced after the notice. */
  newest: string;
}

/** The notice when `message` announces a new epoch rather than an event (a JSON object, not an array). */
export function epochNoticeOf(message: string): EpochNotice | undefined {
  if (!message.startsWith('{')) return undefined;
  const { epoch, newest } = JSON.parse(message) as EpochNotice;
  return { epoch, newest };
}

/** An event from its pub/sub announcement (APPEND_SCRIPT's message). */
export function fromAnnouncement(message: string): LoggedEvent {
  const newline = message.indexOf('\n');
  const [id, ts, correlationId, traceparent, startedEpoch] = JSON.parse(
    message.slice(0, newline),
  ) as string[];
  return {
    id: id as string,
    json: message.slice(newline + 1),
    ts: Number(ts),
    correlationId: correlationId || undefined,
    traceparent: traceparent || undefined,
    ...(id === '' ? { ephemeral: true as const } : {}),
    ...(startedEpoch ? { startedEpoch } : {}),
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
