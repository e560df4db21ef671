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
}

export const ZERO_ID = '0-0';

export interface EventStore {
  /** Append and announce one event; the returned event is durable. `ttlMs` expires the whole log. */
  append(
    channel: string,
    json: string,
    correlationId: string,
    traceparent?: string,
    ttlMs?: number,
  ): Promise<LoggedEvent>;
  /** Where delivery can continue for a client whose last seen event is `after`, in `epoch` if it knows one. */
  plan(channel: string, after: string, epoch?: string): Promise<ReplayPlan>;
  /** Events with ID in (after, until], oldest first, at most `count`, and whether a trim cut in. */
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
