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

const NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Radia'];
const WORDS = ['deploy', 'looks', 'good', 'to', 'me', 'the', 'build', 'is', 'green', 'again', 'ship', 'it'];

/**
 * A chat message as an application would publish it (JSON text, about 250 bytes):
 * the same keys every time, a few authors, everyday words — what permessage-deflate
 * is for (the wire scenario). Deterministic in `n`, so every run sends the same bytes.
 */
export function chatMessage(n: number): string {
  const author = NAMES[n % NAMES.length] as string;
  const words = Array.from({ length: 6 + (n % 7) }, (_, i) => WORDS[(n * 7 + i * 5) % WORDS.length]);
  return JSON.stringify({
    kind: 'message',
    author: { id: `user-${n % NAMES.length}`, name: author, avatar: `/avatars/${author.toLowerCase()}.png` },
    text: words.join(' '),
    sentAt: new Date(Date.UTC(2026, 11, 5, 3, 0, n % 60)).toISOString(),
    reactions: { thumbsUp: n % 4, heart: n % 3 },
    thread: { id: `thread-${n % 5}`, replies: n % 9 },
  });
}
