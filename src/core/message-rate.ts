/**
 * A connection's inbound frame rate (MESSAGES_PER_SECOND): a token bucket refilled at
 * the rate, bursts of 2×, and what a refusal means.
 *
 * A frame over the rate is refused (MESSAGE_RATE_LIMITED, with its ref, so the client
 * knows which to send again) and is not counted as an error: a burst is not a fault,
 * and the SDK waits the hint out. A client that goes on sending regardless is a flood:
 * past FLOOD_REFUSALS refused within a minute (or FLOOD_SECONDS of its rate, when that is
 * more), it is closed (TOO_MANY_ERRORS) rather than answered frame by frame while the
 * process's other sockets wait. 2,000 is 40 ms of a flood at 50,000 frames/s, and over a
 * minute of an application that calls publish 30 times a second more than its limit allows
 * (each call told MESSAGE_RATE_LIMITED): a refusal costs little, thousands a second do.
 */

/** Frames refused within REFUSAL_WINDOW_MS that make a flood, at the least. */
export const FLOOD_REFUSALS = 2000;
/** …or this many seconds' worth of the connection's rate, when that is more. */
const FLOOD_SECONDS = 20;
const REFUSAL_WINDOW_MS = 60_000;

export type Refusal = 'first' | 'again' | 'flood';

export class MessageRate {
  private tokens: number;
  private tokensAt: number;
  private refused = 0;
  private refusedSince = 0;
  /** The latest turn a refused frame was given (ms). */
  private lastTurnAt = 0;
  private readonly floodAt: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = 2 * perSecond;
    this.tokensAt = now;
    this.floodAt = Math.max(FLOOD_REFUSALS, FLOOD_SECONDS * perSecond);
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

  /**
   * After a refused take: ms until this frame's turn. Frames refused in one burst are each
   * given their own turn, one token apart after the turns already given, not all the moment
   * one token is back: told that, a client resending each frame after its own hint came back
   * all at once, was refused again, and within a second was closed as a flood.
   */
  msUntilTurn(now: number): number {
    const rate = this.perSecond;
    if (rate === 0) return 0;
    const tokenAt = now + ((1 - this.tokens) * 1000) / rate;
    const turn = Math.max(tokenAt, this.lastTurnAt + 1000 / rate);
    this.lastTurnAt = turn;
    return Math.ceil(turn - now);
  }

  /** Count a refused frame: the window's first (worth a log line), another, or a flood. */
  refuse(now: number): Refusal {
    if (now - this.refusedSince > REFUSAL_WINDOW_MS) {
      this.refusedSince = now;
      this.refused = 0;
    }
    this.refused++;
    if (this.refused > this.floodAt) return 'flood';
    return this.refused === 1 ? 'first' : 'again';
  }
}
