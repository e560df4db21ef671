/**
 * Outgoing publishes and actions made while not connected, kept in order and
 * sent when the connection returns. Bounded: past `capacity` a push fails loudly
 * with OFFLINE_QUEUE_FULL instead of growing without limit or dropping silently.
 */
import { TetherClientError } from './tether-client-error.ts';

export class OfflineQueue<T> {
  private items: T[] = [];

  /** @param capacity Items held at most; 0 disables queueing (every push fails). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`offlineQueueSize must be a non-negative integer, got ${capacity}`);
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** @throws TetherClientError OFFLINE_QUEUE_FULL when full; the item is not kept. */
  push(item: T): void {
    if (this.items.length >= this.capacity) {
      throw new TetherClientError('OFFLINE_QUEUE_FULL', { detail: `capacity ${this.capacity}` });
    }
    this.items.push(item);
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** The oldest item, taken out. */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Back at the head, past the capacity if need be: an item taken out to be sent, to be sent again first. */
  putBack(item: T): void {
    this.items.unshift(item);
  }

  /** Everything queued, oldest first; the queue is empty afterwards. */
  drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  remove(item: T): boolean {
    const index = this.items.indexOf(item);
    if (index >= 0) this.items.splice(index, 1);
    return index >= 0;
  }
}
