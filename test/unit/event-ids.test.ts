/**
 * src/shared/frames.ts compareEventIds: event IDs are Redis stream IDs
 * `<ms>-<seq>`, ordered numerically per part — never as strings.
 */
import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../../src/shared/frames.ts';

const sign = (a: string, b: string) => Math.sign(compareEventIds(a, b));

describe('compareEventIds', () => {
  it('orders by milliseconds first', () => {
    expect(sign('1-0', '2-0')).toBe(-1);
    expect(sign('2-0', '1-99')).toBe(1);
  });

  it('then by sequence within the same millisecond', () => {
    expect(sign('5-1', '5-2')).toBe(-1);
    expect(sign('5-2', '5-1')).toBe(1);
    expect(sign('5-2', '5-2')).toBe(0);
  });

  it('compares numerically, not as strings', () => {
    expect(sign('9-0', '10-0')).toBe(-1); // '9' > '10' as strings
    expect(sign('1-9', '1-10')).toBe(-1);
    expect(sign('1718000000000-0', '999999999999-5')).toBe(1);
  });

  it('treats 0-0 as before everything', () => {
    expect(sign('0-0', '0-1')).toBe(-1);
    expect(sign('0-0', '1718000000000-0')).toBe(-1);
    expect(sign('0-0', '0-0')).toBe(0);
  });

  it('is exact beyond 2^53 (Redis IDs are two unsigned 64-bit integers)', () => {
    const max = '18446744073709551615';
    expect(sign(`${max}-0`, '18446744073709551614-0')).toBe(1);
    expect(sign(`1-${max}`, '1-18446744073709551614')).toBe(1);
    expect(sign('9007199254740993-0', '9007199254740992-0')).toBe(1); // equal as doubles
  });

  it('is antisymmetric and sorts a shuffled list into stream order', () => {
    const ordered = ['0-0', '0-1', '1-0', '1-2', '1-10', '2-0', '10-0', '1718000000000-0', '1718000000000-3'];
    for (const a of ordered) for (const b of ordered) expect(sign(a, b) + sign(b, a)).toBe(0);
    const shuffled = [
      '1-10',
      '0-0',
      '1718000000000-3',
      '1-0',
      '10-0',
      '0-1',
      '1718000000000-0',
      '1-2',
      '2-0',
    ];
    expect(shuffled.sort(compareEventIds)).toEqual(ordered);
  });
});

describe('compareEventIds — against BigInt arithmetic', () => {
  const reference = (a: string, b: string) => {
    const [aMs = '0', aSeq = '0'] = a.split('-');
    const [bMs = '0', bSeq = '0'] = b.split('-');
    const ms = BigInt(aMs || '0') - BigInt(bMs || '0');
    if (ms !== 0n) return ms < 0n ? -1 : 1;
    const seq = BigInt(aSeq || '0') - BigInt(bSeq || '0');
    return seq === 0n ? 0 : seq < 0n ? -1 : 1;
  };
  const parts = [
    '0',
    '00',
    '1',
    '9',
    '10',
    '0010',
    '99',
    '1718000000000',
    '18446744073709551615',
    '9007199254740993',
  ];
  const ids = parts.flatMap((ms) => parts.map((seq) => `${ms}-${seq}`));

  it('agrees on every pair, including leading zeros and values past 2^53', () => {
    for (const a of ids)
      for (const b of ids) expect(compareEventIds(a, b), `${a} vs ${b}`).toBe(reference(a, b));
  });

  it('reads an ID without a sequence as sequence 0', () => {
    expect(compareEventIds('5', '5-0')).toBe(0);
    expect(compareEventIds('5', '5-1')).toBe(-1);
  });
});
