/**
 * The last event ID seen per channel: sent back in `hello.resume.lastEventIds` so
 * the gateway replays exactly what was missed, and used to drop anything at or
 * before it — a replay overlapping live delivery must not show an event twice.
 */
import { compareEventIds } from './shared.ts';

export class ChannelPositions {
  private readonly last = new Map<string, string>();
  /** Events dropped as duplicates since the client was created. */
  duplicates = 0;

  /** true (and remembers `id`) when the event is new; false when it was seen already. */
  accept(channel: string, id: string): boolean {
    const previous = this.last.get(channel);
    if (previous !== undefined && compareEventIds(id, previous) <= 0) {
      this.duplicates++;
      return false;
    }
    this.last.set(channel, id);
    return true;
  }

  get(channel: string): string | undefined {
    return this.last.get(channel);
  }

  forget(channel: string): void {
    this.last.delete(channel);
  }

  /** Channels and their last IDs, for `lastEventIds`. */
  toRecord(filter: (channel: string) => boolean = () => true): Record<string, string> {
    const record: Record<string, string> = {};
    for (const [channel, id] of this.last) if (filter(channel)) record[channel] = id;
    return record;
  }
}
