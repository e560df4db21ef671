/**
 * What a client's position in a channel's log still means, from the log's head (its
 * epoch and XINFO STREAM): where a replay continues (subscribe with `from`, resume)
 * and whether a history page starting at `since` is whole. Pure: event-log.ts reads
 * the head, these decide — so a gap is reported the same way on every path.
 */
import { type HistoryGap, type ReplayPlan, ZERO_ID } from '../core/ports/event-store.ts';
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
  /**
   * The newest ID the log had when its epoch began (`0-0`: the log's first epoch). An epoch
   * renewed for lost history begins there (log-scripts.ts FIND_EPOCH): the hole is after it.
   */
  start?: string;
}

/**
 * How a position falls short of a whole history, one classification for every path
 * (subscribe and resume, `planPosition`; history pages, `sinceGap`):
 * - 'lost': it belongs to a history that is gone — the epoch given is not the log's, or the
 *   position is past the newest ID the log ever generated (its IDs went backwards), or it is
 *   not an event ID at all. What the log holds now is another history: read it from its start.
 * - 'missing': the log lost events at or after it, though it still orders them — the position
 *   itself was lost (`head.missing`: a failover to a replica that missed writes, later appends
 *   past it), or, given without an epoch, it is at or before where the log's renewed epoch
 *   began (`head.start`): the events lost with the old epoch came right after that.
 *   Delivery and pages go on after it, the gap reported.
 * undefined: neither (retention is the caller's to check: it depends on the direction).
 */
export type PositionGap = 'lost' | 'missing';

export function positionGap(
  head: LogHeadInfo,
  position: string,
  epoch: string | undefined,
): PositionGap | undefined {
  const newest = head.info ? newestId(head.info) : ZERO_ID;
  if (epoch !== undefined && epoch !== head.epoch) return 'lost';
  if (!isEventId(position) || compareEventIds(position, newest) > 0) return 'lost';
  if (head.missing) return 'missing';
  const start = head.start ?? ZERO_ID;
  if (epoch === undefined && start !== ZERO_ID && isEventId(start) && compareEventIds(position, start) <= 0)
    return 'missing';
  return undefined;
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
 * - events at or after `after` were lost ('missing', `positionGap`): delivery continues
 *   after it, as the IDs around it still order the log;
 * and in these cases delivery then starts at the beginning of what the log holds now:
 * - 'lost' (`positionGap`): another epoch, IDs gone backwards, not an event ID;
 * - events after `after` were trimmed: delivery continues after the lost ones.
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
  const gap = options.inbox ? undefined : positionGap(head, after, epoch);
  let plan: ReplayPlan;
  if (gap === 'missing' && compareEventIds(after, lost) >= 0)
    plan = { recovered: false, after, epoch: current };
  else if (gap !== undefined) plan = { recovered: false, after: lost, epoch: current };
  else if (compareEventIds(after, lost) >= 0) plan = { recovered: true, after, epoch: current };
  else plan = { recovered: false, after: lost, epoch: current };
  if (options.replay || compareEventIds(plan.after, newest) >= 0) return plan;
  return { recovered: false, after: newest, epoch: current };
}

/**
 * Why a history page read from `since` is not whole (HistoryPage.gap), or
 * undefined when it is:
 * - 'lost' (`positionGap`): `since` belongs to a history that is gone; the page must be read
 *   again from the start (or, reverse, the top);
 * - 'missing' (`positionGap`): events at or after `since` were lost; the page goes on after
 *   it. Reading back (reverse) from before where a renewed epoch began crosses no hole;
 * - 'trimmed': paging forward, retention dropped events after `since` (the page starts at
 *   the oldest event held); paging backward, see `trimmedBehind`.
 */
export function sinceGap(
  head: LogHeadInfo,
  since: string,
  epoch: string | undefined,
  reverse: boolean,
): HistoryGap | undefined {
  const gap = positionGap(head, since, epoch);
  if (gap === 'lost' || (gap === 'missing' && (head.missing || !reverse))) return gap;
  if (!reverse && head.info && compareEventIds(since, lostUpTo(head.info)) < 0) return 'trimmed';
  return undefined;
}

/**
 * Paging backward, whether the page reached the oldest event held (`oldest`: the page's last
 * event, undefined for an empty page) with retention having dropped events before it: the
 * reader's history does not go back to the channel's first event ('trimmed', as forward).
 */
export function trimmedBehind(head: LogHeadInfo, oldest: string | undefined): boolean {
  if (!head.info || compareEventIds(lostUpTo(head.info), ZERO_ID) <= 0) return false;
  return oldest === undefined || compareEventIds(oldest, firstHeldId(head.info)) <= 0;
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
