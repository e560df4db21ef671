/**
 * Where delivery stands on each channel: the last event ID and the epoch of the log it
 * belongs to (docs/protocol.md §5, "Epochs"). Sent back on resume (`lastEventIds`,
 * `epochs`) and on re-subscribe (`from`, `epoch`), so the gateway replays exactly what
 * was missed — or says the history is gone. Also the duplicate filter: an event at or
 * before the position was delivered already (a replay overlapping live delivery).
 *
 * When the gateway answers `recovered: false` (retention cut the gap, or the log's history
 * was lost and its IDs may now be *lower* than ours), its `after` and `epoch` become the
 * position: keeping the old ID would drop the new history's events as "already seen" — a
 * silent loss on this side of the socket.
 */
import { compareEventIds } from './shared.ts';

/**
 * A position on a channel: the last event ID delivered (or, before the first event, the ID
 * delivery continues after) and the epoch of the channel's log that ID belongs to.
 */
export interface StreamPosition {
  id: string;
  /** The channel log's epoch; absent until the gateway named one (or for a `since` given without it). */
  epoch?: string;
}

/** What `subscribed` or a `welcome.channels` entry says delivery continues from. */
export interface DeliveryStart {
  recovered: boolean;
  after: string;
  /** Absent from gateways older than epochs. */
  epoch?: string;
}

export class ChannelPositions {
  private readonly held = new Map<string, StreamPosition>();
  /** Events dropped as duplicates since the client was created. */
  duplicates = 0;
  /** Positions replaced by the gateway's `after` because events were gone (a gap was reported). */
  resets = 0;

  /** true (and remembers `id`) when the event is new; false when it was seen already. */
  accept(channel: string, id: string): boolean {
    const previous = this.held.get(channel);
    if (previous !== undefined && compareEventIds(id, previous.id) <= 0) {
      this.duplicates++;
      return false;
    }
    this.held.set(channel, previous?.epoch === undefined ? { id } : { id, epoch: previous.epoch });
    return true;
  }

  get(channel: string): StreamPosition | undefined {
    const position = this.held.get(channel);
    return position && { ...position };
  }

  /** Start the channel at `position` (a `since` from the application) unless it has one. */
  startAt(channel: string, position: StreamPosition): void {
    if (!this.held.has(channel)) this.held.set(channel, { ...position });
  }

  /**
   * Take what the gateway says delivery continues from. A gap — `recovered: false`, or an
   * epoch other than the one held (that history is gone) — replaces the position with
   * `after` in the new epoch, even when `after` is lower. Otherwise the held position
   * stays (it may be ahead of `after`) and learns the epoch. Returns true for a gap.
   */
  continueFrom(channel: string, start: DeliveryStart): boolean {
    const held = this.held.get(channel);
    const next: StreamPosition =
      start.epoch === undefined ? { id: start.after } : { id: start.after, epoch: start.epoch };
    if (held === undefined) {
      this.held.set(channel, next);
      return !start.recovered;
    }
    const otherHistory = held.epoch !== undefined && start.epoch !== undefined && held.epoch !== start.epoch;
    if (!start.recovered || otherHistory) {
      this.held.set(channel, next);
      this.resets++;
      return true;
    }
    if (start.epoch !== undefined) held.epoch = start.epoch;
    return false;
  }

  forget(channel: string): void {
    this.held.delete(channel);
  }

  /** The channels with a position (optionally only those `filter` keeps). */
  channels(filter: (channel: string) => boolean = () => true): string[] {
    return [...this.held.keys()].filter(filter);
  }

  /**
   * `lastEventIds` and `epochs` for `hello.resume`. Null-prototype records: a channel named
   * `__proto__` is a valid channel name and must stay an ordinary key.
   */
  resumeRecords(filter: (channel: string) => boolean): {
    lastEventIds: Record<string, string>;
    epochs: Record<string, string>;
  } {
    const lastEventIds: Record<string, string> = Object.create(null);
    const epochs: Record<string, string> = Object.create(null);
    for (const [channel, { id, epoch }] of this.held) {
      if (!filter(channel)) continue;
      lastEventIds[channel] = id;
      if (epoch !== undefined) epochs[channel] = epoch;
    }
    return { lastEventIds, epochs };
  }
}
