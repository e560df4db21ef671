/**
 * Hands one socket from replay to live delivery with no gap and no duplicate.
 *
 * The process's channel reader has delivered everything up to its cursor. We send
 * the socket the stored events in (after, cursor], re-reading the cursor after
 * every await because the reader may have moved on; once the socket has
 * everything up to the current cursor we subscribe it to the live topic in the
 * same tick — so the next event the reader publishes is the next one it needs.
 *
 * A socket whose position is AHEAD of the cursor (the reader here is still
 * catching up) waits for the cursor to reach it: going live earlier would send it
 * events it already has.
 */
import { compareEventIds } from '../shared/frames.ts';
import { eventFrameText } from './event-frames.ts';
import type { ChannelFeed, EventStore } from './ports/event-store.ts';

/** What replay needs from a socket (subscriptions.ts adapts a Connection). */
export interface ReplayTarget {
  isOpen(): boolean;
  /** Send a pre-built frame; false once the socket can take no more (slow consumer). */
  sendText(text: string): boolean;
  /** Outbound bytes are past the point where we should wait for them to drain. */
  mustDrain(): boolean;
  /** Resolves when outbound buffers are low enough to keep sending. */
  whenWritable(): Promise<void>;
  subscribeLive(channel: string): void;
  /** Events after the socket's position were trimmed during the replay: it must resume. */
  missed(channel: string): void;
}

/** Events per read: a page of the largest events (64 KiB) is then 12.5 MiB in flight at most. */
const PAGE = 200;

/** Returns how many events were replayed; -1 when the socket went away mid-way. */
export async function replayThenGoLive(
  reader: ChannelFeed,
  log: EventStore,
  target: ReplayTarget,
  channel: string,
  after: string,
): Promise<number> {
  let sentUpTo = after;
  let replayed = 0;
  for (;;) {
    const cursor = reader.cursor(channel);
    if (!target.isOpen() || cursor === undefined) return -1;
    const ahead = compareEventIds(sentUpTo, cursor);
    if (ahead === 0) {
      target.subscribeLive(channel); // same tick as the cursor check: nothing can slip between
      return replayed;
    }
    if (ahead > 0) {
      await reader.whenPast(channel, sentUpTo);
      continue;
    }
    const page = await log.page(channel, sentUpTo, cursor, PAGE);
    if (!target.isOpen()) return -1;
    if (page.gap) {
      target.missed(channel);
      return -1;
    }
    if (page.events.length === 0) {
      sentUpTo = cursor; // the stream itself expired (an idle inbox): nothing left to send
      continue;
    }
    for (const event of page.events) {
      if (!target.sendText(eventFrameText(channel, event))) return -1;
      sentUpTo = event.id;
      replayed++;
      // Waiting only between pages let a fast backlog overrun the socket's limit.
      if (target.mustDrain()) await target.whenWritable();
      if (!target.isOpen()) return -1;
    }
  }
}
