/**
 * Reading a stream's XINFO STREAM reply: its newest ID, and the greatest ID that
 * may have been removed from it (trimmed or deleted) — a reader whose position is
 * below that has missed events.
 */
import { ZERO_ID } from '../core/ports/event-store.ts';
import { compareEventIds, MAX_ID_PART } from '../shared/identifiers.ts';

export function infoField(info: unknown[], name: string): string | undefined {
  const at = info.indexOf(name);
  return at < 0 ? undefined : String(info[at + 1]);
}

/** The last ID the stream ever generated (0-0 for a stream that never had an entry). */
export function newestId(info: unknown[]): string {
  return infoField(info, 'last-generated-id') ?? ZERO_ID;
}

/** The first entry the stream holds (0-0 when it holds none). */
export function firstHeldId(info: unknown[]): string {
  return Number(infoField(info, 'length') ?? 0) > 0
    ? (infoField(info, 'recorded-first-entry-id') ?? ZERO_ID)
    : ZERO_ID;
}

/**
 * max-deleted-entry-id covers XDEL only: trimming (MAXLEN) does not move it. Trimmed
 * entries are exactly those before the first retained one, and we cannot know the
 * last trimmed ID, so anything before the first retained entry counts as a gap (a
 * client whose last event was the very last one trimmed is told so needlessly).
 */
export function lostUpTo(info: unknown[]): string {
  let lost = infoField(info, 'max-deleted-entry-id') ?? ZERO_ID;
  const length = Number(infoField(info, 'length') ?? 0);
  if (Number(infoField(info, 'entries-added') ?? 0) > length) {
    const trimmedBefore = length > 0 ? predecessorId(firstHeldId(info)) : newestId(info);
    if (compareEventIds(trimmedBefore, lost) > 0) lost = trimmedBefore;
  }
  return lost;
}

/** The greatest stream ID below `id` (IDs are <ms>-<seq>, seq a 64-bit counter). */
export function predecessorId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms) > 0n ? `${BigInt(ms) - 1n}-${MAX_ID_PART}` : ZERO_ID;
}
