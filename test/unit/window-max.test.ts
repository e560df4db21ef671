import { describe, expect, it } from 'vitest';
import { WindowMax } from '../../src/admission/window-max.ts';

describe('WindowMax', () => {
  it('reads the largest value of the window, as often as asked, until it falls out', () => {
    const max = new WindowMax(1000);
    expect(max.read(0)).toBe(0);
    max.record(300, 100);
    max.record(2500, 200); // a stall
    max.record(40, 300);
    expect(max.read(400)).toBe(2500);
    expect(max.read(400)).toBe(2500); // reading resets nothing
    expect(max.read(1199)).toBe(2500);
    expect(max.read(1200)).toBe(40); // the stall is a window old; what came after it is left
    expect(max.read(1300)).toBe(0);
  });

  it('keeps a smaller value recorded after a larger one, for when the larger leaves', () => {
    const max = new WindowMax(100);
    max.record(5, 0);
    max.record(9, 10);
    max.record(7, 20);
    max.record(3, 30);
    expect(max.read(50)).toBe(9);
    expect(max.read(110)).toBe(7);
    expect(max.read(120)).toBe(3);
    max.record(3, 125); // equal to the one before it, and later: that one can go
    expect(max.read(130)).toBe(3);
    expect(max.read(225)).toBe(0);
  });
});
