/**
 * Resume tokens: random, handed to the client once in `welcome`, stored only as
 * a SHA-256 hash, compared in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { randomView } from '../shared/random-page.ts';

export function newResumeToken(): { token: string; hash: string } {
  const token = randomView(24).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function resumeTokenMatches(token: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashToken(token), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** One-shot `hash` (Node ≥ 20.12): no Hash object per token, ~0.3 µs instead of ~1 µs. */
function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}
