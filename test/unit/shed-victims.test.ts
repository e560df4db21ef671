/**
 * Who a shedding step closes (src/admission/admission-line.ts): only welcomed
 * connections — one between admission and welcome has no resumable session yet, so
 * shedding it would fail it instead of sending it to `reconnecting` — lowest priority
 * first, newest first within a priority, `ratio` of them and at least one.
 */
import { describe, expect, it } from 'vitest';
import { shedVictims } from '../../src/admission/admission-line.ts';

interface Fake {
  id: string;
  welcomed: boolean;
  priority: number;
  openedAt: number;
}

const conn = (id: string, priority: number, openedAt: number, welcomed = true): Fake => ({
  id,
  welcomed,
  priority,
  openedAt,
});
const ids = (picked: Fake[]) => picked.map((c) => c.id);

describe('shedVictims', () => {
  it('never picks a connection that is not welcomed, even the lowest-priority, newest one', () => {
    const pool = [
      conn('enterprise', 1, 10),
      conn('standard', 3, 20),
      conn('free-in-handshake', 4, 30, false),
      conn('closed-or-queued', 4, 40, false),
    ];
    expect(ids(shedVictims(pool, 0.5))).toEqual(['standard']);
  });

  it('takes the lowest priority first, and the newest within a priority', () => {
    const pool = [
      conn('pro-old', 2, 1),
      conn('free-old', 4, 2),
      conn('standard', 3, 3),
      conn('free-new', 4, 4),
      conn('pro-new', 2, 5),
    ];
    expect(ids(shedVictims(pool, 1))).toEqual(['free-new', 'free-old', 'standard', 'pro-new', 'pro-old']);
    expect(ids(shedVictims(pool, 0.4))).toEqual(['free-new', 'free-old']);
  });

  it('sheds ratio × welcomed rounded down, at least one; none when nobody is welcomed', () => {
    const pool = Array.from({ length: 10 }, (_, i) => conn(`c${i}`, 3, i));
    expect(shedVictims(pool, 0.05)).toHaveLength(1);
    expect(shedVictims(pool, 0.29)).toHaveLength(2);
    expect(shedVictims([...pool, conn('waiting', 9, 99, false)], 0.2)).toHaveLength(2);
    expect(shedVictims([conn('x', 4, 1, false)], 0.5)).toEqual([]);
  });
});
