/**
 * Pages shared by the replays of a storm (src/core/replay-pages.ts): one read under way
 * serves every replay asking for the same position, each gets exactly the events up to its
 * own cursor, and an empty page is never handed to a replay that wants a longer range
 * (it would skip events appended after the read).
 */
import { describe, expect, it } from 'vitest';
import type { EventStore, LoggedEvent, LogPage } from '../../src/core/ports/event-store.ts';
import { sharedPage } from '../../src/core/replay-pages.ts';
import { compareEventIds } from '../../src/shared/frames.ts';

/** A log in memory that counts its reads (only `page` is used). */
function logOf(ids: string[]): EventStore & { reads: number; fail: boolean } {
  const events: LoggedEvent[] = ids.map((id) => ({ id, json: '{}', ts: 0 }));
  const log = {
    reads: 0,
    fail: false,
    async page(_channel: string, after: string, until: string, count: number): Promise<LogPage> {
      log.reads++;
      if (log.fail) throw new Error('store down');
      const inRange = events.filter(
        (e) => compareEventIds(e.id, after) > 0 && compareEventIds(e.id, until) <= 0,
      );
      return { events: inRange.slice(0, count), gap: false, more: inRange.length > count };
    },
  };
  return log as unknown as EventStore & { reads: number; fail: boolean };
}
const idsOf = (page: LogPage) => page.events.map((e) => e.id);

describe('sharedPage', () => {
  it('reads once for replays from the same position, each up to its own cursor', async () => {
    const log = logOf(['1-1', '1-2', '1-3', '1-4']);
    const [wide, narrow] = await Promise.all([
      sharedPage(log, 'c', '1-1', '1-4', 200),
      sharedPage(log, 'c', '1-1', '1-2', 200),
    ]);
    expect(idsOf(wide)).toEqual(['1-2', '1-3', '1-4']);
    expect(idsOf(narrow)).toEqual(['1-2']);
    expect(log.reads).toBe(1);
  });

  it('hands a shorter page to a replay that wants more, which reads on from its last event', async () => {
    const log = logOf(['2-1', '2-2', '2-3']);
    const [, page] = await Promise.all([
      sharedPage(log, 'c', '2-0', '2-2', 200),
      sharedPage(log, 'c', '2-0', '2-3', 200),
    ]);
    expect(idsOf(page)).toEqual(['2-1', '2-2']);
    expect(log.reads).toBe(1);
    expect(idsOf(await sharedPage(log, 'c', '2-2', '2-3', 200))).toEqual(['2-3']);
  });

  it('never answers a longer range with an empty page', async () => {
    const log = logOf(['3-5']);
    const [short, long] = await Promise.all([
      sharedPage(log, 'c', '3-1', '3-4', 200),
      sharedPage(log, 'c', '3-1', '3-5', 200),
    ]);
    expect(idsOf(short)).toEqual([]);
    expect(idsOf(long)).toEqual(['3-5']);
    expect(log.reads).toBe(2);
  });

  it('keeps no settled page: a later replay reads again (Redis may have lost the stream since)', async () => {
    const log = logOf(['5-1']);
    await sharedPage(log, 'c', '5-0', '5-1', 200);
    await sharedPage(log, 'c', '5-0', '5-1', 200);
    expect(log.reads).toBe(2);
  });

  it('keeps pages apart by channel and does not keep a failed read', async () => {
    const log = logOf(['4-1']);
    log.fail = true;
    await expect(sharedPage(log, 'a', '4-0', '4-1', 200)).rejects.toThrow('store down');
    log.fail = false;
    expect(idsOf(await sharedPage(log, 'a', '4-0', '4-1', 200))).toEqual(['4-1']);
    expect(idsOf(await sharedPage(log, 'b', '4-0', '4-1', 200))).toEqual(['4-1']);
    expect(log.reads).toBe(3);
  });
});
