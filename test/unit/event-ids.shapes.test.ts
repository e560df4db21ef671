/**
 * src/shared/identifiers.ts compareEventIds on the shapes Redis itself accepts as
 * stream IDs: a bare `<ms>` means `<ms>-0` (XREAD, XRANGE), on either side.
 */
import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../../src/shared/identifiers.ts';

const sign = (a: string, b: string) => Math.sign(compareEventIds(a, b));

describe('compareEventIds — an ID without its sequence', () => {
  it('is <ms>-0, on either side', () => {
    expect(sign('5', '5-0')).toBe(0);
    expect(sign('5-0', '5')).toBe(0);
    expect(sign('5', '5-1')).toBe(-1);
    expect(sign('5-1', '5')).toBe(1);
    expect(sign('12', '5-9')).toBe(1);
    expect(sign('5-9', '12')).toBe(-1);
  });
});
