/**
 * Exponential backoff with full jitter: the delay before attempt `attempt` (0-based)
 * is uniform in [0, min(maxMs, baseMs · 2^attempt)]. Full jitter spreads a crowd of
 * clients that lost the same server over the whole window instead of letting them
 * return together (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015).
 * A `floor` lifts the bottom of the window: with 0.5 every delay lies in [window/2,
 * window], so a run of refused connections (each fails in a millisecond) cannot draw
 * near-zero delays and spend the attempts in a burst.
 *
 * The client SDK reconnects with `backoffDelay`; the gateway does not back off, but
 * jitters the retryAfterMs hints it sends with this module's `jitteredHint` and
 * `jitteredAtLeast` (which the SDK also applies to a registry default hint).
 *
 * @example
 * backoffDelay(3, { baseMs: 500, maxMs: 30_000 }) // somewhere in [0, 4000]
 */
export interface BackoffOptions {
  /** First window, in ms. @defaultValue 500 */
  baseMs?: number;
  /** Largest window, in ms. @defaultValue 30000 */
  maxMs?: number;
  /** Source of randomness in [0, 1); injectable for tests. @defaultValue Math.random */
  random?: () => number;
  /**
   * Least share of the window a delay takes, in [0, 1]: 0 is full jitter over the whole
   * window, 0.5 keeps delays in its upper half. @defaultValue 0
   */
  floor?: number;
}

export const BACKOFF_DEFAULTS = { baseMs: 500, maxMs: 30_000 } as const;

/** Attempts past this add nothing (2^31 overflows long before) — the cap keeps the exponent finite. */
const MAX_EXPONENT = 30;

export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const max = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  // NaN (a caller's arithmetic gone wrong) counts as the first attempt, not as "no delay ever".
  const exponent = Number.isNaN(attempt) ? 0 : Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  return Math.min(max, base * 2 ** exponent);
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const random = options.random ?? Math.random;
  const ceiling = backoffCeiling(attempt, options);
  // Out-of-range floors are clamped, not trusted: NaN counts as no floor.
  const share = Math.min(1, Math.max(0, options.floor || 0));
  const least = ceiling * share;
  return Math.floor(least + random() * (ceiling - least));
}

/** A hint of about `ms`, jittered ±50% so refused clients do not come back in step. */
export function jitteredHint(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.5 + random()));
}

/** Share of a true wait that `jitteredAtLeast` may add on top of it. */
export const AT_LEAST_JITTER = 0.2;

/**
 * A hint for a known wait (a rate window, a token refill): never shorter than `ms`, since
 * coming back earlier is refused again, plus up to `extra` (20 %) more, so clients refused
 * at the same moment do not all return at the same instant. Always at least 1 ms.
 */
export function jitteredAtLeast(
  ms: number,
  extra: number = AT_LEAST_JITTER,
  random: () => number = Math.random,
): number {
  return Math.max(1, Math.ceil(ms * (1 + extra * random())));
}
