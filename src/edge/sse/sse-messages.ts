/**
 * The SSE wire format of Tether's frames (docs/protocol.md §1.1): each frame is
 * one `data:` line (JSON has no raw line breaks); an event frame also sets the `id` to every
 * channel's position on this stream, so a reconnecting EventSource's `Last-Event-ID` is a
 * `lastEventIds` map; the stream opens with an `open` event and ends with a `close` event
 * that carries what a WebSocket close frame would.
 */

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

export function dataMessage(frame: string, id: string | undefined): string {
  return id === undefined ? `data: ${frame}\n\n` : `id: ${id}\ndata: ${frame}\n\n`;
}

/** A POST's body holds what a WebSocket's frames would: up to four frames of the edge's limit. */
export function postBodyLimit(maxMessageBytes: number): number {
  return maxMessageBytes * 4;
}

/**
 * The first event: the token that POSTs to /sse/frames name this stream by, and the largest body
 * a POST may carry (a client packs the frames it has waiting into POSTs no larger).
 */
export function openMessage(connection: string, maxPostBytes: number): string {
  return `event: open\ndata: ${JSON.stringify({ connection, maxPostBytes })}\n\n`;
}

export function closeMessage(code: number, reason: string): string {
  return `event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`;
}

/**
 * A `Last-Event-ID` header as channel positions; an unreadable one is ignored (the hello's
 * own `lastEventIds` still apply).
 */
export function parseLastEventId(header: string): Record<string, string> {
  if (!header) return {};
  try {
    const value = JSON.parse(header) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  } catch {
    return {};
  }
}
