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
 *
 * A reconnect storm resumes thousands of sockets from the same position at once:
 * they share one read of each page (replay-pages.ts) and each event's frame text,
 * and a socket's frames of a page go out in corked writes, not one system call each.
 */
import { compareEventIds } from '../shared/frames.ts';
import { eventFrameText } from './event-frames.ts';
import type { ChannelFeed, EventStore, LoggedEvent } from './ports/event-store.ts';
import { sharedPage } from './replay-pages.ts';

/** What replay needs from a socket (subscriptions.ts adapts a Connection). */
export interface ReplayTarget {
  isOpen(): boolean;
  /** Send pre-built frames, in order, in one write; false once the socket can take no more (slow consumer). */
  sendTexts(texts: readonly string[]): boolean;
  /** Outbound bytes are past the point where we should wait for them to drain. */
  mustDrain(): boolean;
  /** Resolves when outbound buffers are low enough to keep sending. */
  whenWritable(): Promise<void>;
  /** Bytes the socket takes before its slow-consumer limit (MAX_BACKPRESSURE_BYTES). */
  room(): number;
  /** The socket still holds `channel`: an unsubscribe during the replay ends it at the next page. */
  wants(channel: string): boolean;
  subscribeLive(channel: string): void;
  /** Events after the socket's position were trimmed during the replay: it must resume. */
  missed(channel: string): void;
}

/** Events per read: a page of the largest events (64 KiB) is then 12.5 MiB in flight at most. */
const PAGE = 200;
/**
 * Bytes per corked write at most, and never more than the socket's room under its
 * slow-consumer limit: with the drain check between writes, a backlog read at any speed
 * never trips the limit itself — also at MAX_BACKPRESSURE_BYTES' minimum, where a write
 * of 64 KiB plus one event did. A write always carries one event: one larger than the
 * room left after a drain (over three quarters of the limit) can still pass it.
 */
const WRITE_BYTES = 64 * 1024;

interface Frame {
  text: string;
  bytes: number;
}

/** Each event's frame, built once however many sockets replay it (the shared pages hand out the same objects). */
const frames = new WeakMap<LoggedEvent, Frame>();

function frameOf(channel: string, event: LoggedEvent): Frame {
  let frame = frames.get(event);
  if (frame === undefined) {
    const text = eventFrameText(channel, event);
    frame = { text, bytes: Buffer.byteLength(text) };
    frames.set(event, frame);
  }
  return frame;
}

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
    if (!target.wants(channel)) return replayed;
    const ahead = compareEventIds(sentUpTo, cursor);
    if (ahead === 0) {
      target.subscribeLive(channel); // same tick as the cursor check: nothing can slip between
      return replayed;
    }
    if (ahead > 0) {
      await reader.whenPast(channel, sentUpTo);
      continue;
    }
    const page = await sharedPage(log, channel, sentUpTo, cursor, PAGE);
    if (!target.isOpen()) return -1;
    if (page.gap) {
      target.missed(channel);
      return -1;
    }
    if (page.events.length === 0) {
      sentUpTo = cursor; // the stream itself expired (an idle inbox): nothing left to send
      continue;
    }
    const { events } = page;
    for (let from = 0; from < events.length; ) {
      const budget = Math.min(WRITE_BYTES, target.room());
      const texts: string[] = [];
      let bytes = 0;
      while (from < events.length) {
        const frame = frameOf(channel, events[from] as LoggedEvent);
        if (texts.length > 0 && bytes + frame.bytes > budget) break;
        texts.push(frame.text);
        bytes += frame.bytes;
        from++;
      }
      if (!target.sendTexts(texts)) return -1;
      sentUpTo = (events[from - 1] as LoggedEvent).id;
      replayed += texts.length;
      // Waiting only between pages let a fast backlog overrun the socket's limit.
      if (target.mustDrain()) await target.whenWritable();
      if (!target.isOpen()) return -1;
    }
  }
}
