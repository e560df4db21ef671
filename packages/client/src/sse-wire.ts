/**
 * The SSE fallback's wire format on the client side (docs/protocol.md §1.1), shared by the SDK's
 * SseSocket and the bench's load generator: reading one server-sent message, and packing waiting
 * frames into POST bodies the gateway accepts.
 */

/** One server-sent message: its event name (`message` unless named), its data and its id. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Before the gateway says its limit in `open`: four frames of the default 64 KiB. */
export const DEFAULT_MAX_POST_BYTES = 262_144;

/** Before (or without) the gateway saying its own in `open`: HEARTBEAT_IDLE_TIMEOUT_S's default. */
export const DEFAULT_IDLE_TIMEOUT_MS = 40_000;

/**
 * How long a stream may POST nothing before it POSTs an empty body to stay heard: half the
 * gateway's idle timeout, which it checks every 2.5 s, so a POST under way or one slow to arrive
 * still comes in time.
 */
export function keepAliveAfterMs(idleTimeoutMs: number): number {
  return Math.max(1000, Math.floor(idleTimeoutMs / 2));
}

const encoder = new TextEncoder();

/** Parse one message (the text between blank lines); comment lines (`:` keep-alives) are skipped. */
export function parseSseMessage(message: string): SseMessage {
  const parsed: SseMessage = { event: 'message', data: '' };
  let hasData = false;
  for (const line of message.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'event') parsed.event = value;
    else if (field === 'data') {
      parsed.data = hasData ? `${parsed.data}\n${value}` : value;
      hasData = true;
    } else if (field === 'id') parsed.id = value;
  }
  return parsed;
}

/**
 * Take from `waiting` the frames of the next POST, one per line, as many as fit in `maxBytes`:
 * a burst sent while a POST was in flight goes in several, never in one the gateway refuses as
 * too large (413). A frame larger than the limit goes alone, and is refused as a WebSocket frame
 * that size would be.
 */
export function takePostBody(waiting: string[], maxBytes: number): string {
  let bytes = 0;
  let count = 0;
  for (const frame of waiting) {
    bytes += encoder.encode(frame).byteLength + (count > 0 ? 1 : 0);
    if (count > 0 && bytes > maxBytes) break;
    count++;
  }
  return waiting.splice(0, count).join('\n');
}
