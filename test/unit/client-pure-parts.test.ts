/**
 * The client SDK's small pure parts, as an application meets them: the offline queue
 * (src/client/offline-queue.ts) that holds publishes while disconnected, the positions
 * (src/client/channel-positions.ts) sent back on resume, and the close classification
 * (src/client/classify-close.ts) for the normal closes.
 */
import { describe, expect, it } from 'vitest';
import { ChannelPositions } from '../../packages/client/src/channel-positions.ts';
import { classifyClose } from '../../packages/client/src/classify-close.ts';
import { OfflineQueue } from '../../packages/client/src/offline-queue.ts';
import { TetherClientError } from '../../packages/client/src/tether-client-error.ts';
import { INBOX_PREFIX, inboxChannel } from '../../src/shared/identifiers.ts';

describe('OfflineQueue (offlineQueueSize)', () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses a size of %s, naming the option',
    (size) => {
      expect(() => new OfflineQueue(size)).toThrow(
        new RangeError(`offlineQueueSize must be a non-negative integer, got ${size}`),
      );
    },
  );

  it('a size of 0 is allowed and queues nothing: every push fails with OFFLINE_QUEUE_FULL', () => {
    const queue = new OfflineQueue<string>(0);
    expect(() => queue.push('a')).toThrow(TetherClientError);
    expect(queue.size).toBe(0);
  });

  it('holds up to its size, in order; the next push fails loudly, naming the capacity, and is not kept', () => {
    const queue = new OfflineQueue<string>(2);
    queue.push('a');
    queue.push('b');
    let refused: unknown;
    try {
      queue.push('c');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(TetherClientError);
    expect(refused).toMatchObject({ code: 'OFFLINE_QUEUE_FULL', detail: 'capacity 2' });
    expect(queue.drain()).toEqual(['a', 'b']);
    expect(queue.size).toBe(0);
    queue.push('d'); // room again after the drain
    expect(queue.drain()).toEqual(['d']);
  });

  it('remove takes out exactly the item given — the first one too — and says whether it was there', () => {
    const queue = new OfflineQueue<{ n: number }>(5);
    const items = [{ n: 0 }, { n: 1 }, { n: 2 }];
    for (const item of items) queue.push(item);
    expect(queue.remove(items[0]!)).toBe(true);
    expect(queue.remove({ n: 1 })).toBe(false); // an equal object is not the item
    expect(queue.remove(items[0]!)).toBe(false);
    expect(queue.size).toBe(2);
    expect(queue.drain()).toEqual([items[1], items[2]]);
  });
});

describe('ChannelPositions', () => {
  it('forget: a channel unsubscribed and subscribed again accepts events from the start', () => {
    const positions = new ChannelPositions();
    expect(positions.accept('a', '5-0')).toBe(true);
    expect(positions.accept('a', '3-0')).toBe(false);
    positions.forget('a');
    expect(positions.get('a')).toBeUndefined();
    expect(positions.accept('a', '3-0')).toBe(true);
    expect(positions.duplicates).toBe(1);
  });

  it('resumeRecords lists the channels a filter keeps with their last ID (for lastEventIds)', () => {
    const positions = new ChannelPositions();
    positions.accept('a', '1-0');
    positions.accept('b', '2-0');
    positions.accept('a', '3-0');
    expect({ ...positions.resumeRecords(() => true).lastEventIds }).toEqual({ a: '3-0', b: '2-0' });
    expect({ ...positions.resumeRecords((channel) => channel === 'b').lastEventIds }).toEqual({ b: '2-0' });
    expect(positions.channels()).toEqual(['a', 'b']);
  });
});

describe('classifyClose — normal closes we did not ask for', () => {
  it.each([1000, 1005])('%i is CONNECTION_CLOSED with the reason as detail, or none', (closeCode) => {
    expect(classifyClose(closeCode, '')).toMatchObject({ code: 'CONNECTION_CLOSED', detail: undefined });
    expect(classifyClose(closeCode, 'server going home').detail).toBe('server going home');
  });
});

describe('inboxChannel', () => {
  it('is the session’s inbox, where action replies arrive (docs/protocol.md §6.8)', () => {
    expect(inboxChannel('9b0e-1')).toBe('inbox:9b0e-1');
    expect(inboxChannel('x').startsWith(INBOX_PREFIX)).toBe(true);
  });
});
