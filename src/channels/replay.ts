/**
 * Hands one socket from replay to live delivery with no gap and no duplicate.
 *
 * The process's channel reader has delivered everything up to its cursor. We send
 * the socket the stored events in (after, cursor], re-reading the cursor after
 * every await because the reader may have moved on; once the socket has
 * everything up to the current cursor we subscribe it to the live topic in the
 * same tick — so the next event the reader publishes is the next one it needs.
 */
import { compareEventIds } from '../shared/frames.ts';
import type { ChannelReader } from './channel-reader.ts';
import { type EventLog, eventFrameText } from './event-log.ts';

/** What replay needs from a socket; implemented by the edge. */
export interface ReplayTarget {
  isOpen(): boolean;
  /** Send a pre-built frame; false once the socket can take no more (slow consumer). */
  sendText(text: string): boolean;
  /** Resolves when outbound buffers are low enough to keep sending. */
  whenWritable(): Promise<void>;
  subscribeLive(channel: string): void;
}

const PAGE = 500;

/** Returns how many events were replayed; -1 when the socket went away mid-way. */
export async function replayThenGoLive(
  reader: ChannelReader,
  log: EventLog,
  target: ReplayTarget,
  channel: string,
  after: string,
): Promise<number> {
  let sentUpTo = after;
  let replayed = 0;
  for (;;) {
    const cursor = reader.cursor(channel);
    if (!target.isOpen() || cursor === undefined) return -1;
    if (compareEventIds(sentUpTo, cursor) >= 0) {
      target.subscribeLive(channel); // same tick as the cursor check: nothing can slip between
      return replayed;
    }
    const page = await log.range(channel, sentUpTo, cursor, PAGE);
    if (!target.isOpen()) return -1;
    if (page.length === 0) {
      sentUpTo = cursor; // trimmed between plan and read: the gap was already reported
      continue;
    }
    for (const event of page) {
      if (!target.sendText(eventFrameText(channel, event))) return -1;
      sentUpTo = event.id;
      replayed++;
    }
    await target.whenWritable();
  }
}
