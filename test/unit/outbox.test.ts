/**
 * The outbox (src/core/outbox.ts): each socket's frames of a turn are flushed once, after
 * the turn's I/O, and a socket that gets frames while the outbox is flushing others is
 * flushed in the next turn, not forgotten.
 */
import { describe, expect, it } from 'vitest';
import { type Flushable, flushSoon } from '../../src/core/outbox.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('flushSoon', () => {
  it('flushes each waiting socket once per turn, after the code that queued', async () => {
    const flushed: string[] = [];
    const a: Flushable = { flushQueued: () => flushed.push('a') };
    const b: Flushable = { flushQueued: () => flushed.push('b') };
    flushSoon(a);
    flushSoon(b);
    flushSoon(a);
    expect(flushed).toEqual([]);
    await nextTurn();
    await nextTurn();
    expect(flushed).toEqual(['a', 'b']);
  });

  it('a socket that gets frames while others are flushed (one closing tells it) is flushed next turn', async () => {
    const flushed: string[] = [];
    const a: Flushable = { flushQueued: () => flushed.push('a') };
    const b: Flushable = {
      flushQueued: () => {
        flushed.push('b');
        flushSoon(a); // b was closed as a slow consumer: a hears of its leave
      },
    };
    flushSoon(a);
    flushSoon(b);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(flushed).toEqual(['a', 'b', 'a']);
  });
});
