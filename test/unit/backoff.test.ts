/**
 * src/shared/backoff.ts: full-jitter exponential backoff, shared by the SDK's
 * reconnect loop and the gateway's retryAfterMs hints. Randomness is injected,
 * so every bound is exact and nothing depends on timing.
 */
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  backoffCeiling,
  backoffDelay,
  jitteredAtLeast,
  jitteredHint,
} from '../../src/shared/backoff.ts';

/** mulberry32: a small seeded PRNG, so the distribution test is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALMOST_ONE = 1 - Number.EPSILON;

describe('backoffDelay', () => {
  it('is 0 when random() is 0', () => {
    for (const attempt of [0, 1, 5, 50]) expect(backoffDelay(attempt, { random: () => 0 })).toBe(0);
  });

  it('stays just under the ceiling when random() is just under 1', () => {
    for (const attempt of [0, 1, 2, 3, 6, 10, 100]) {
      const ceiling = backoffCeiling(attempt);
      const delay = backoffDelay(attempt, { random: () => ALMOST_ONE });
      expect(delay).toBeLessThan(ceiling);
      expect(delay).toBe(ceiling - 1);
    }
  });

  it('uses the defaults: 500 ms first window, 30 s cap', () => {
    expect(BACKOFF_DEFAULTS).toEqual({ baseMs: 500, maxMs: 30_000 });
    expect(backoffCeiling(0)).toBe(500);
    expect(backoffCeiling(100)).toBe(30_000);
  });

  it('is an integer number of milliseconds', () => {
    const random = seeded(7);
    for (let i = 0; i < 1000; i++) expect(Number.isInteger(backoffDelay(i % 12, { random }))).toBe(true);
  });
});

describe('backoffCeiling', () => {
  it('doubles per attempt until it reaches maxMs, then stays there', () => {
    const options = { baseMs: 100, maxMs: 5000 };
    const ceilings = Array.from({ length: 10 }, (_, attempt) => backoffCeiling(attempt, options));
    expect(ceilings).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
  });

  it('treats negative and fractional attempts as the floor, not below the first window', () => {
    expect(backoffCeiling(-3, { baseMs: 100 })).toBe(100);
    expect(backoffCeiling(2.9, { baseMs: 100, maxMs: 10_000 })).toBe(400);
    expect(backoffCeiling(Number.NaN, { baseMs: 100 })).toBe(100);
    expect(backoffCeiling(Number.POSITIVE_INFINITY, { baseMs: 100, maxMs: 10_000 })).toBe(10_000);
  });

  it('stays finite and capped for huge attempt numbers', () => {
    for (const attempt of [31, 64, 1024, 1e9, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const ceiling = backoffCeiling(attempt, { baseMs: 500, maxMs: 30_000 });
      expect(Number.isFinite(ceiling)).toBe(true);
      expect(ceiling).toBe(30_000);
      const delay = backoffDelay(attempt, { random: () => ALMOST_ONE });
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeLessThan(30_000);
    }
  });

  it('caps even with no maxMs to speak of (a very large one)', () => {
    const ceiling = backoffCeiling(1e6, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER });
    expect(Number.isFinite(ceiling)).toBe(true);
    expect(ceiling).toBe(2 ** 30); // the exponent cap
  });
});

describe('full jitter', () => {
  it('spreads delays roughly uniformly over [0, ceiling)', () => {
    const random = seeded(42);
    const buckets = new Array<number>(10).fill(0);
    const samples = 20_000;
    const options = { baseMs: 1000, maxMs: 1000, random };
    let [min, max] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (let i = 0; i < samples; i++) {
      const delay = backoffDelay(3, options);
      min = Math.min(min, delay);
      max = Math.max(max, delay);
      buckets[Math.floor(delay / 100)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1000);
    // Expected 2000 per bucket; ±15% is far outside what a fair source produces.
    for (const count of buckets) {
      expect(count).toBeGreaterThan(1700);
      expect(count).toBeLessThan(2300);
    }
  });

  it('is not all the same: a crowd does not come back in step', () => {
    const random = seeded(1);
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(5, { random })));
    expect(delays.size).toBeGreaterThan(90);
  });
});

describe('jitteredHint', () => {
  it('lies in [0.5x, 1.5x]', () => {
    expect(jitteredHint(2000, () => 0)).toBe(1000);
    expect(jitteredHint(2000, () => ALMOST_ONE)).toBe(3000);
    expect(jitteredHint(2000, () => 0.5)).toBe(2000);
    const random = seeded(99);
    for (let i = 0; i < 1000; i++) {
      const hint = jitteredHint(500, random);
      expect(hint).toBeGreaterThanOrEqual(250);
      expect(hint).toBeLessThanOrEqual(750);
      expect(Number.isInteger(hint)).toBe(true);
    }
  });
});

describe('jitteredAtLeast', () => {
  it('is never shorter than the true wait and at most 20 % longer, in whole ms', () => {
    expect(jitteredAtLeast(1000, undefined, () => 0)).toBe(1000);
    expect(jitteredAtLeast(1000, undefined, () => ALMOST_ONE)).toBe(1200);
    expect(jitteredAtLeast(999.2, undefined, () => 0)).toBe(1000); // rounded up, not down
    const random = seeded(5);
    for (let i = 0; i < 1000; i++) {
      const hint = jitteredAtLeast(733, undefined, random);
      expect(hint).toBeGreaterThanOrEqual(733);
      expect(hint).toBeLessThanOrEqual(880);
      expect(Number.isInteger(hint)).toBe(true);
    }
  });

  it('spreads a crowd refused at the same moment', () => {
    const random = seeded(3);
    const hints = new Set(Array.from({ length: 100 }, () => jitteredAtLeast(5000, undefined, random)));
    expect(hints.size).toBeGreaterThan(90);
  });

  it('honours another share, and is at least 1 ms even for no wait at all', () => {
    expect(jitteredAtLeast(1000, 0.5, () => ALMOST_ONE)).toBe(1500);
    expect(jitteredAtLeast(0, undefined, () => 0.5)).toBe(1);
    expect(jitteredAtLeast(-20, undefined, () => 0.5)).toBe(1);
  });
});
