/**
 * History pages of a channel's log (docs/protocol.md §3 history, §6.11): the request
 * frame built from what the application asks, and the answer as it sees it — events
 * in the shape `publication` gives them. A page is a read: it moves no position and
 * delivers nothing to the channel's subscription.
 *
 * @example
 * let page = await room.history({ limit: 50, reverse: true });
 * while (page.events.length > 0) {
 *   render(page.events);
 *   page = await room.history({ limit: 50, reverse: true, since: page.events.at(-1)?.id });
 * }
 */
import type { ChannelEvent } from './client-events.ts';
import type { EventFrame, HistoryFrame, HistoryPageFrame } from './shared.ts';

export interface HistoryOptions {
  /** Events at most, 1–1000. @defaultValue 100 (the gateway's) */
  limit?: number;
  /**
   * Exclusive position in the direction of travel: events after it, or before it when
   * `reverse`. An event ID, or a position with its epoch (a `subscription.position`), so
   * a position in a history that is gone comes back `recovered: false`.
   */
  since?: string | { id: string; epoch?: string };
  /** Newest first. @defaultValue false */
  reverse?: boolean;
}

export interface HistoryPage {
  channel: string;
  /** In the order asked (oldest first, or newest first with `reverse`). */
  events: ChannelEvent[];
  /** The channel log's epoch now. */
  epoch: string;
  /** The newest ID the log ever gave an event. */
  top: string;
  /**
   * false: the page from `since` is not whole — there is a gap; `gap` says why.
   */
  recovered: boolean;
  /**
   * Why the page is not whole (absent when it is): 'lost', `since` was in a history that is
   * gone and the page starts again at what the log holds now (its oldest event, or its newest
   * with `reverse`); 'missing', the log lost events at or after `since` (a failover) and the
   * page goes on after it; 'trimmed', retention dropped events after `since` and the page
   * starts at the oldest event held (or, with `reverse`, the page reached the oldest event
   * held and retention dropped older ones).
   */
  gap?: 'lost' | 'missing' | 'trimmed';
}

export function historyFrame(
  ref: string,
  channel: string,
  options: HistoryOptions,
): HistoryFrame & { ref: string } {
  const frame: HistoryFrame & { ref: string } = { type: 'history', ref, channel };
  if (options.limit !== undefined) frame.limit = options.limit;
  if (options.reverse) frame.reverse = true;
  const since = typeof options.since === 'string' ? { id: options.since } : options.since;
  if (since) {
    frame.since = since.id;
    if (since.epoch !== undefined) frame.epoch = since.epoch;
  }
  return frame;
}

export function historyPage(frame: HistoryPageFrame): HistoryPage {
  const events = frame.events
    .filter((event): event is EventFrame => event.type === 'event')
    .map(({ channel, id, ts, data }) => ({ channel, id, ts, data }));
  const page: HistoryPage = {
    channel: frame.channel,
    events,
    epoch: frame.epoch,
    top: frame.top,
    recovered: frame.recovered,
  };
  if (frame.gap !== undefined) page.gap = frame.gap;
  return page;
}
