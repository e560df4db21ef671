/**
 * The frames that carry logged events, built once per event per process and
 * shared by every subscriber (fan-out) or sent one by one (replay), and the
 * edge topic a channel's live events are published on.
 */
import { INBOX_PREFIX } from '../shared/frames.ts';
import type { LoggedEvent } from './ports/event-store.ts';

/** The edge topic for a channel's live events. */
export const channelTopic = (channel: string) => `c:${channel}`;

/**
 * The frame for a logged event. Inbox channels carry action replies: their stored
 * JSON is the reply's fields, spliced into a `reply` frame.
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

/**
 * Several frames for one socket as one (docs/protocol.md, "Batched delivery"): the
 * frames' own text, in order, spliced without re-serializing.
 */
export function batchFrameText(frames: readonly string[]): string {
  return `{"type":"batch","frames":[${frames.join(',')}]}`;
}

/** A batch frame's length beyond its frames and the commas between them. */
export const BATCH_ENVELOPE_CHARS = batchFrameText([]).length;

/** An ephemeral event's frame: no ID, it has no place in any log (docs/protocol.md, "Ephemeral channels"). */
export function ephemeralFrameText(channel: string, event: LoggedEvent): string {
  return `{"type":"event","channel":${JSON.stringify(channel)},"ephemeral":true,"ts":${event.ts},"data":${event.json}}`;
}
