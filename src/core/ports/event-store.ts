/**
 * The per-channel event log and this process's live feed of it, as the core uses
 * them. Implemented over Redis Streams and pub/sub in src/channels/.
 */

export interface LoggedEvent {
  /** The event's ID: `<ms>-<seq>`, increasing within its channel. */
  id: string;
  /** The event's data as JSON text, spliced into frames without re-serializing. */
  json: string;
  ts: number;
  /** Who appended it: a connection's correlation ID, or an HTTP request's. */
  correlationId?: string;
  /** W3C traceparent of the sampled span that appended it, so delivery joins that trace. */
  traceparent?: string;
  /** Announced, never appended (an ephemeral channel): `id` is empty, nothing can replay it. */
  ephemeral?: true;
  /**
   * Announced by the append that created the log, with the epoch it gave it: a reader that
   * knew the log under another epoch learns it was lost (FLUSHALL, an eviction, a DEL).
   */
  startedEpoch?: string;
}

export interface ReplayPlan {
  /** false when events after the requested position are gone (trimmed, or the log's history lost). */
  recovered: boolean;
  /** Delivery continues with events whose ID is greater than this. */
  after: string;
  /** The log's identity now (docs/protocol.md, "Epochs"). */
  epoch: string;
}

/** A page of the log, read together with the log's retention. */
export interface LogPage {
  events: LoggedEvent[];
  /** Events after the page's `after` were trimmed before they could be read. */
  gap: boolean;
  /** The page stopped at its count or its byte budget: the range may hold more. */
  more: boolean;
}

export const ZERO_ID = '0-0';

export interface AppendOptions {
  /** W3C traceparent of the sampled span that appends, so delivery joins that trace. */
  traceparent?: string;
  /** Expire the whole log this long after its last append (action inboxes), ms. */
  ttlMs?: number;
  /**
   * Remember this append under `key` for `windowMs`: a repeat with the same key on the
   * same channel within the window appends nothing and answers the first one's ID.
   * `key` is the caller's scope and key together (publish.ts keeps users apart).
   */
  idempotency?: { key: string; windowMs: number };
}

/** An append's answer: the event, durable; `duplicate` when it repeated an idempotency key (the ID is the first one's). */
export type Appended = LoggedEvent & { duplicate: boolean };

export interface HistoryQuery {
  /** Exclusive position in the direction of travel: events after it (forward) or before it (reverse). */
  since?: string;
  /** The epoch `since` belongs to, when the asker knows it. */
  epoch?: string;
  /** Events at most. */
  limit: number;
  /** Newest first. */
  reverse: boolean;
  /** Stop adding events once their data passes this many bytes (at least one event is returned). */
  maxBytes: number;
}

export interface HistoryPage {
  events: LoggedEvent[];
  /** The log's epoch now. */
  epoch: string;
  /** The newest ID the log ever gave an event (ZERO_ID for a log that never had one). */
  top: string;
  /** false when the page from `since` is not whole: `gap` says why. */
  recovered: boolean;
  /**
   * Why the page is not whole (absent when it is; docs/protocol.md §6.11): 'lost', `since` is
   * in a history that is gone (the page starts again at the start, or the top); 'missing',
   * the log lost events at or after `since` (a failover) and the page goes on after it;
   * 'trimmed', retention dropped events after `since` (the page starts at the oldest held).
   */
  gap?: HistoryGap;
}

/** HistoryPage.gap. */
export type HistoryGap = 'lost' | 'missing' | 'trimmed';

/**
 * An append was written on the master but fewer replicas than asked confirmed it in time
 * (PUBLISH_ACK_REPLICAS): not acked — a failover could still lose it. `sent: false`: it
 * was refused before it was sent (its time ran out waiting for a connection, or the
 * replicas were not confirming the appends before it), so nothing was written.
 */
export class ReplicationShortError extends Error {
  override name = 'ReplicationShortError';
  constructor(
    message: string,
    readonly sent = true,
  ) {
    super(message);
  }
}

/**
 * Redis answered the append with a refusal that says it did not run it — a redirection
 * (MOVED, ASK: on a cluster, a slot moved or moving), TRYAGAIN, CLUSTERDOWN, READONLY and the
 * like: nothing was written, so a retry cannot store the event twice.
 */
export class AppendRefusedError extends Error {
  override name = 'AppendRefusedError';
}

export interface EventStore {
  /** The log's epoch (given one now if it has none) and newest event ID (`0-0`: none yet). */
  head(channel: string): Promise<{ epoch: string; newest: string }>;
  /** Append and announce one event; the returned event is durable. */
  append(channel: string, json: string, correlationId: string, options?: AppendOptions): Promise<Appended>;
  /** Announce one event to the channel's live subscribers on every process, without logging it. */
  announce(channel: string, json: string, correlationId: string): Promise<void>;
  /**
   * Where delivery can continue for a client whose last seen event is `after`, in `epoch`
   * if it knows one. `replay: false` (the channel's namespace allows none): delivery
   * continues from the log's newest event, `recovered: false` when that skips any.
   */
  plan(channel: string, after: string, epoch?: string, options?: { replay?: boolean }): Promise<ReplayPlan>;
  /** A page of the log for a history request. */
  history(channel: string, query: HistoryQuery): Promise<HistoryPage>;
  /** Events with ID in (after, until], oldest first, at most `count` (fewer past a byte budget), and whether a trim cut in. */
  page(channel: string, after: string, until: string, count: number): Promise<LogPage>;
}

/** This process's live read of the channels its sockets subscribe to. */
export interface ChannelFeed {
  /** Start reading `channel` (reference counted); resolves once its cursor is known. */
  join(channel: string): Promise<void>;
  leave(channel: string): void;
  /** The ID up to which `channel` has been delivered locally; undefined if not read. */
  cursor(channel: string): string | undefined;
  /** The epoch of the log `channel` is read from; undefined if not read. */
  epoch(channel: string): string | undefined;
  /** Resolves once `channel` has been delivered up to `id` (or is no longer read). */
  whenPast(channel: string, id: string): Promise<void>;
}
