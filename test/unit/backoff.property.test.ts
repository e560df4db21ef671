/**
 * Properties of src/shared/backoff.ts for any attempt number, window and random
 * source: a client's reconnect delay is a whole number of ms inside a window that
 * doubles and is capped, and a server's retry hints stay where they promise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  backoffCeiling,
  backoffDelay,
  jitteredAtLeast,
  jitteredHint,
} from '../../src/shared/backoff.ts';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const attempt = fc.oneof(
  fc.integer({ min: -5, max: 40 }),
  fc.double({ min: -10, max: 100, noNaN: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER),
);
const windows = fc
  .tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 600_000 }))
  .map(([baseMs, maxMs]) => ({ baseMs, maxMs }));

/** What the module documents: min(maxMs, baseMs · 2^attempt), attempt floored into [0, 30]. */
function expectedCeiling(n: number, { baseMs, maxMs }: { baseMs: number; maxMs: number }): number {
  const exponent = Number.isNaN(n) ? 0 : Math.min(Math.max(0, Math.floor(n)), 30);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

describe('backoffDelay', () => {
  it('is a whole number of ms in [0, ceiling), the ceiling doubling per attempt up to maxMs', () => {
    fc.assert(
      fc.property(attempt, windows, unit, (n, options, r) => {
        const ceiling = backoffCeiling(n, options);
        expect(ceiling).toBe(expectedCeiling(n, options));
        const delay = backoffDelay(n, { ...options, random: () => r });
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.max(0, ceiling - 1));
        expect(delay).toBe(Math.floor(r * ceiling));
      }),
    );
  });

  it('never shrinks as attempts grow, and never passes maxMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        windows,
        (a, b, options) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          expect(backoffCeiling(low, options)).toBeLessThanOrEqual(backoffCeiling(high, options));
          expect(backoffCeiling(high, options)).toBeLessThanOrEqual(options.maxMs);
        },
      ),
    );
  });

  it('uses 500 ms and 30 s when no window is given', () => {
    fc.assert(
      fc.property(attempt, (n) => {
        expect(backoffCeiling(n)).toBe(expectedCeiling(n, BACKOFF_DEFAULTS));
      }),
    );
  });
});

describe('retry hints', () => {
  it('jitteredHint stays within ±50 % of the hint, rounded to whole ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_600_000 }), unit, (ms, r) => {
        const hint = jitteredHint(ms, () => r);
        expect(Number.isInteger(hint)).toBe(true);
        expect(hint).toBeGreaterThanOrEqual(Math.floor(ms * 0.5));
        expect(hint).toBeLessThanOrEqual(Math.ceil(ms * 1.5));
        expect(hint).toBe(Math.round(ms * (0.5 + r)));
      }),
    );
  });

  it('jitteredAtLeast is never shorter than the wait (nor under 1 ms) and at most `extra` longer', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 3_600_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        unit,
        (ms, extra, r) => {
          const hint = jitteredAtLeast(ms, extra, () => r);
          expect(Number.isInteger(hint)).toBe(true);
          expect(hint).toBeGreaterThanOrEqual(Math.max(1, ms));
          expect(hint).toBeLessThanOrEqual(Math.max(1, Math.ceil(ms * (1 + extra))));
        },
      ),
    );
  });
});
