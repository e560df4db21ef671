/**
 * What a client's position in a channel's log still means, from the log's head (its
 * epoch and XINFO STREAM): where a replay continues (subscribe with `from`, resume)
 * and whether a history page starting at `since` is whole. Pure: event-log.ts reads
 * the head, these decide — so a gap is reported the same way on every path.
 */
import { type ReplayPlan, ZERO_ID } from '../core/ports/event-store.ts';
import { compareEventIds, isEventId, MAX_ID_PART } from '../shared/identifiers.ts';
import { firstHeldId, lostUpTo, newestId } from './stream-info.ts';

/** A log's head: its epoch and its XINFO STREAM reply (null: no stream). */
export interface LogHeadInfo {
  epoch: string;
  info: unknown[] | null;
  /**
   * The position asked about is an event this log generated and no longer holds, though
   * neither retention nor XDEL took it (`positionMissing`), in the epoch it came with.
   */
  missing?: boolean;
}

/**
 * Whether `position` is an event this log generated and lost: within what it generated
 * (after what retention removed, up to its newest ID), yet not `held`. A failover to a
 * replica that missed writes does this while later appends move the newest ID past the
 * lost ones — so "the newest ID went backwards" alone cannot see it.
 *
 * A position before the first event held was never generated here: whatever was
 * removed from the front is within `lostUpTo` already, and a failover loses the newest
 * writes, never the oldest (a log lost whole gets a new epoch). Such a position (`1-0`,
 * a time before the channel's first event) misses nothing.
 */
export function positionMissing(info: unknown[] | null, position: string, held: boolean): boolean {
  if (held || !info || !isEventId(position) || position === ZERO_ID) return false;
  if (compareEventIds(position, firstHeldId(info)) < 0) return false;
  return compareEventIds(position, lostUpTo(info)) > 0 && compareEventIds(position, newestId(info)) <= 0;
}

const LAST_ID = `${MAX_ID_PART}-${MAX_ID_PART}`;

/**
 * Where delivery continues for a client whose last seen event is `after` in `epoch`
 * (undefined when it has none to give). Lost history is reported (`recovered: false`):
 * - `after` itself was lost (`head.missing`): delivery continues after it, as the IDs
 *   around it still order the log;
 * and in these cases delivery then starts at the beginning of what the log holds now:
 * - the epoch differs: the log was created anew (Redis lost it, or it was restored);
 * - `after` is past the newest ID the log ever generated: its IDs went backwards;
 * - events after `after` were trimmed: delivery continues after the lost ones.
 * A position that is not a valid event ID is treated as one from a lost history.
 * An idle inbox expires, and nothing in it is lost to a live session: it starts from
 * what it holds. Without `replay` (the namespace allows none) delivery starts from the
 * newest event, `recovered: false` when that skips any.
 */
export function planPosition(
  head: LogHeadInfo,
  after: string,
  epoch: string | undefined,
  options: { inbox: boolean; replay: boolean },
): ReplayPlan {
  const { epoch: current, info } = head;
  const newest = info ? newestId(info) : ZERO_ID;
  const lost = info ? lostUpTo(info) : ZERO_ID;
  const beyond = !isEventId(after) || compareEventIds(after, newest) > 0;
  if (options.inbox && (!info || beyond)) return { recovered: true, after: newest, epoch: current };
  let plan: ReplayPlan;
  if (!options.inbox && head.missing) plan = { recovered: false, after, epoch: current };
  else if (!options.inbox && ((epoch !== undefined && epoch !== current) || beyond))
    plan = { recovered: false, after: lost, epoch: current };
  else if (compareEventIds(after, lost) >= 0) plan = { recovered: true, after, epoch: current };
  else plan = { recovered: false, after: lost, epoch: current };
  if (options.replay || compareEventIds(plan.after, newest) >= 0) return plan;
  return { recovered: false, after: newest, epoch: current };
}

/**
 * Whether a history page read from `since` is whole: 'lost' when `since` belongs to a
 * history that is gone (another epoch, or past the newest ID: the page must be read
 * again from the start), false when paging forward past a trim (the page starts at
 * the oldest event held), else true.
 */
export function recoveredSince(
  head: LogHeadInfo,
  since: string,
  epoch: string | undefined,
  reverse: boolean,
): boolean | 'lost' {
  const newest = head.info ? newestId(head.info) : ZERO_ID;
  if ((epoch !== undefined && epoch !== head.epoch) || compareEventIds(since, newest) > 0) return 'lost';
  if (!reverse && head.info && compareEventIds(since, lostUpTo(head.info)) < 0) return false;
  return true;
}

/**
 * The XRANGE (forward) or XREVRANGE (reverse) bounds of a page after `since`,
 * exclusive; `empty` when nothing can follow it (Redis refuses an exclusive bound
 * past the last possible ID, or before the first).
 */
export function historyRange(
  since: string | undefined,
  reverse: boolean,
): { from: string; to: string; empty: boolean } {
  if (!reverse) {
    if (since === undefined) return { from: '-', to: '+', empty: false };
    return { from: `(${since}`, to: '+', empty: compareEventIds(since, LAST_ID) >= 0 };
  }
  if (since === undefined) return { from: '+', to: '-', empty: false };
  return { from: `(${since}`, to: '-', empty: compareEventIds(since, ZERO_ID) <= 0 };
}
