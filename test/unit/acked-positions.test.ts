/**
 * src/channels/acked-positions.ts: the newest acked ID per channel, bounded — the
 * channels first appended to longest ago make room, and a channel noted again keeps its place.
 */
import { describe, expect, it } from 'vitest';
import { AckedPositions } from '../../src/channels/acked-positions.ts';

describe('acked positions', () => {
  it('keeps the newest ID per channel', () => {
    const acked = new AckedPositions(10);
    acked.note('a', '1-0');
    acked.note('b', '1-0');
    acked.note('a', '2-0');
    expect(acked.snapshot()).toEqual([
      ['a', '2-0'],
      ['b', '1-0'],
    ]);
  });

  it('past its bound, the channel first noted longest ago makes room; one already held does not evict', () => {
    const acked = new AckedPositions(2);
    acked.note('a', '1-0');
    acked.note('b', '1-0');
    acked.note('b', '2-0');
    expect(acked.snapshot()).toHaveLength(2);
    acked.note('c', '1-0');
    expect(acked.snapshot()).toEqual([
      ['b', '2-0'],
      ['c', '1-0'],
    ]);
  });
});
