/**
 * The SSE wire format of Tether's frames (docs/protocol.md §1.1): each frame is one message,
 * one `data:` line per line of its text (`message` builds every one); an event frame also sets
 * the `id` to every channel's position on this stream, so a reconnecting EventSource's
 * `Last-Event-ID` is a `lastEventIds` map; the stream opens with an `open` event and ends with a
 * `close` event that carries what a WebSocket close frame would.
 */

import { CHANNEL_PATTERN, isEventId } from '../../shared/identifiers.ts';

const CHANNEL = new RegExp(CHANNEL_PATTERN);

/** The channel and event ID at the head of an event frame (src/core/event-frames.ts builds it). */
export interface EventHead {
  channel: string;
  id: string;
}

const EVENT_HEAD = /^\{"type":"event","channel":("(?:[^"\\]|\\.)*"),"id":"([^"]+)"/;

export function eventHead(frame: string): EventHead | undefined {
  const match = EVENT_HEAD.exec(frame);
  return match ? { channel: JSON.parse(match[1] as string) as string, id: match[2] as string } : undefined;
}

export function positionsId(positions: Map<string, string>): string {
  return JSON.stringify(Object.fromEntries(positions));
}

/** A line break as SSE reads one (WHATWG HTML, "Parsing an event stream"): CRLF, LF or CR. */
const LINE_BREAK = /\r\n|\r|\n/g;

/**
 * One SSE message: `fields` (`event: …\n`, `id: …\n`, each one line), then `text` as its data.
 * A frame may hold raw line breaks: JSON allows them as whitespace between tokens, and a
 * publisher's `data` (or a worker's reply) is kept as written, pretty-printed too. On one
 * `data:` line the first break would end the field and the rest be dropped as unknown fields
 * (a blank line would even end the message), so each line goes on a `data:` line of its own: a
 * client joins them with LF, which gives the text back with CR and CRLF as LF — whitespace
 * still, the JSON's value unchanged.
 */
function message(fields: string, text: string): string {
  return `${fields}data: ${text.replace(LINE_BREAK, '\ndata: ')}\n\n`;
}

export function dataMessage(frame: string, id: string | undefined): string {
  return message(id === undefined ? '' : `id: ${id}\n`, frame);
}

/** A POST's body holds what a WebSocket's frames would: up to four frames of the edge's limit. */
export function postBodyLimit(maxMessageBytes: number): number {
  return maxMessageBytes * 4;
}

/**
 * The first event: the token that POSTs to /sse/frames name this stream by, the largest body
 * a POST may carry (a client packs the frames it has waiting into POSTs no larger), and how
 * long the client may POST nothing before the stream is dropped (an empty POST counts): the
 * client keeps itself heard by that, not by its own heartbeat settings.
 */
export function openMessage(connection: string, maxPostBytes: number, idleTimeoutMs: number): string {
  return message('event: open\n', JSON.stringify({ connection, maxPostBytes, idleTimeoutMs }));
}

export function closeMessage(code: number, reason: string): string {
  return message('event: close\n', JSON.stringify({ code, reason }));
}

/**
 * A `Last-Event-ID` header as channel positions; an unreadable one is ignored (the hello's
 * own `lastEventIds` still apply), and so is an entry that is not a channel name and an
 * event ID: the gateway wrote every one, so such an entry was not, and the hello it joins
 * must not be refused for a field its client never sent.
 */
export function parseLastEventId(header: string): Record<string, string> {
  if (!header) return {};
  try {
    const value = JSON.parse(header) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter(
        (entry): entry is [string, string] =>
          CHANNEL.test(entry[0]) && typeof entry[1] === 'string' && isEventId(entry[1]),
      ),
    );
  } catch {
    return {};
  }
}
