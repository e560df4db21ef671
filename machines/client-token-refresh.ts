/**
 * When the client machine (machines/client.machine.ts, `connected.token`) refreshes its
 * token in band (docs/protocol.md §3 refresh): pure arithmetic on durations, so the
 * chart's timers read as names and this file's tests as numbers.
 *
 * - The lead before expiry is `leadMs`, or a tenth of the token's lifetime when that is
 *   longer (an hour-long token refreshes 6 min ahead: room for a slow token endpoint and
 *   retries), but at most half the lifetime — a token that lives 3 s is refreshed after
 *   1.5 s, not at once and then again and again.
 * - The moment is pulled earlier by up to `jitter` of the time until then, never later:
 *   clients that got their tokens in the same second (a deploy reconnected them all) do
 *   not refresh in the same second, and none refreshes after its lead.
 */

/** Share of the lifetime the lead grows to for long-lived tokens. */
export const LIFETIME_LEAD_SHARE = 0.1;
/** Largest share of the lifetime the lead takes, whatever `leadMs` says. */
export const MAX_LEAD_SHARE = 0.5;

export interface RefreshTiming {
  /** Least time before expiry to refresh, ms. */
  leadMs: number;
  /** Share of the wait, in [0, 1], that the refresh may come earlier. */
  jitter: number;
}

/** How long before expiry a token of `lifetimeMs` is refreshed. */
export function refreshLead(lifetimeMs: number, leadMs: number): number {
  const lifetime = Math.max(0, lifetimeMs);
  return Math.min(Math.max(leadMs, lifetime * LIFETIME_LEAD_SHARE), lifetime * MAX_LEAD_SHARE);
}

/**
 * ms from now until the refresh: `expiresInMs` minus the lead, times a factor in
 * [1 − jitter, 1] drawn from `random` (in [0, 1)). 0 when the lead has begun already.
 */
export function refreshDelay(
  expiresInMs: number,
  lifetimeMs: number,
  timing: RefreshTiming,
  random: () => number,
): number {
  const latest = expiresInMs - refreshLead(lifetimeMs, timing.leadMs);
  if (!(latest > 0)) return 0;
  const share = Math.min(1, Math.max(0, timing.jitter));
  return Math.round(latest * (1 - share * random()));
}

/**
 * Two expiries this close are the same `exp` (a JWT's is in whole seconds; the runtime turns it
 * into this clock the same way each time, so only the ms it runs in differ).
 */
const SAME_EXPIRY_TOLERANCE_MS = 100;

/** A token's expiry on this clock, from the time it has left; nothing when it has no `exp`. */
export function tokenExpiry(now: number, expiresInMs: number | undefined) {
  if (expiresInMs === undefined) return { tokenExpiresAt: undefined, tokenLifetimeMs: undefined };
  return { tokenExpiresAt: now + expiresInMs, tokenLifetimeMs: expiresInMs };
}

/** Whether a token with `expiresInMs` left outlives one expiring at `currentExpiresAt` (both on this clock). */
export function outlives(now: number, expiresInMs: number | undefined, currentExpiresAt: number | undefined) {
  if (expiresInMs === undefined || currentExpiresAt === undefined) return true;
  return now + expiresInMs > currentExpiresAt + SAME_EXPIRY_TOLERANCE_MS;
}
