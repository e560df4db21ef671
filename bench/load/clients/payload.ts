/**
 * Relay payloads: 64 ASCII bytes that start with the send time (this generator's
 * `performance.now()`, ms), so a payload that comes back carries its own round
 * trip time. Only characters that need no escaping in JSON.
 */
export const PAYLOAD_BYTES = 64;
const PAD = 'x'.repeat(PAYLOAD_BYTES);

export function makePayload(sentAtMs = performance.now()): string {
  const stamp = `${sentAtMs.toFixed(3)}:`;
  return stamp + PAD.slice(stamp.length);
}

/** Round-trip ms of a payload made by `makePayload` in this process. */
export function payloadAgeMs(payload: string, nowMs = performance.now()): number {
  return nowMs - Number.parseFloat(payload);
}
