/**
 * The hot paths' random bytes (src/shared/random-page.ts): every draw is fresh — no byte
 * handed out twice, across page boundaries too — and what is built from them (epochs,
 * resume tokens) keeps its shape.
 */
import { describe, expect, it } from 'vitest';
import { newEpoch } from '../../src/channels/event-log.ts';
import { newResumeToken, resumeTokenMatches } from '../../src/core/resume-token.ts';
import { randomView } from '../../src/shared/random-page.ts';

describe('randomView', () => {
  it('never hands out the same bytes twice, across many pages', () => {
    const seen = new Set<string>();
    // 24-byte draws do not divide a 4 KiB page: draws cross page ends many times.
    for (let i = 0; i < 5_000; i++) {
      const view = randomView(24);
      expect(view.length).toBe(24);
      seen.add(view.toString('hex'));
    }
    expect(seen.size).toBe(5_000);
  });

  it('a view keeps its bytes after later draws (pages are never written again)', () => {
    const first = randomView(16);
    const copy = Buffer.from(first);
    for (let i = 0; i < 1_000; i++) randomView(16);
    expect(first.equals(copy)).toBe(true);
  });

  it('serves a draw larger than a page on its own', () => {
    const big = randomView(10_000);
    expect(big.length).toBe(10_000);
    expect(new Set(big).size).toBeGreaterThan(200); // 256 byte values, all but surely most seen
  });
});

describe('what is built from them', () => {
  it('epochs: 12 base-32 digits, distinct', () => {
    const epochs = Array.from({ length: 2_000 }, newEpoch);
    for (const epoch of epochs) expect(epoch).toMatch(/^[0-9a-v]{12}$/);
    expect(new Set(epochs).size).toBe(2_000);
  });

  it('resume tokens: 32 base64url characters, distinct, each matching only its own hash', () => {
    const a = newResumeToken();
    const b = newResumeToken();
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect(resumeTokenMatches(a.token, a.hash)).toBe(true);
    expect(resumeTokenMatches(a.token, b.hash)).toBe(false);
  });
});
