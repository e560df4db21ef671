/**
 * A connection's inbound frame rate (MESSAGES_PER_SECOND): a token bucket refilled at
 * the rate, bursts of 2×, and what a refusal means.
 *
 * A frame over the rate is refused (MESSAGE_RATE_LIMITED, with its ref, so the client
 * knows which to send again) and is not counted as an error: a burst is not a fault,
 * and the SDK waits the hint out. A client that goes on sending regardless is a flood:
 * past FLOOD_SECONDS of its rate refused within a minute, it is closed (TOO_MANY_ERRORS)
 * rather than answered frame by frame while the process's other sockets wait. At the
 * default 100/s that is 2,000 refusals — 5 ms of a flood at 50,000 frames/s, well past a
 * client that fired a few hundred at once.
 */

/** Seconds' worth of frames refused within REFUSAL_WINDOW_MS that make a flood. */
export const FLOOD_SECONDS = 20;
const REFUSAL_WINDOW_MS = 60_000;

export type Refusal = 'first' | 'again' | 'flood';

export class MessageRate {
  private tokens: number;
  private tokensAt: number;
  private refused = 0;
  private refusedSince = 0;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = 2 * perSecond;
    this.tokensAt = now;
  }

  /** false when the connection is over its rate (the frame is not processed). */
  take(now: number): boolean {
    const rate = this.perSecond;
    if (rate === 0) return true;
    this.tokens = Math.min(2 * rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** After a refused take: ms until the bucket holds a whole token again. */
  msUntilToken(): number {
    const rate = this.perSecond;
    return rate === 0 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / rate);
  }

  /** Count a refused frame: the window's first (worth a log line), another, or a flood. */
  refuse(now: number): Refusal {
    if (now - this.refusedSince > REFUSAL_WINDOW_MS) {
      this.refusedSince = now;
      this.refused = 0;
    }
    this.refused++;
    if (this.refused > FLOOD_SECONDS * this.perSecond) return 'flood';
    return this.refused === 1 ? 'first' : 'again';
  }
}
