/**
 * Slow consumers: a socket whose outbound buffer passes MAX_BACKPRESSURE_BYTES is
 * closed with 4008 `SLOW_CONSUMER` (no error frame: the buffer is what is full), its
 * session moves to `reconnecting`, and the client resumes from the channel logs.
 *
 * Two limits, so that the coded close is the normal path:
 * - **Tether's** (MAX_BACKPRESSURE_BYTES): checked by `Connection.send` on every direct
 *   send, and by BackpressureWatch for channel events, which uWS fans out natively
 *   (topic publish) where no per-socket send is seen.
 * - **uWS's own** (`maxBackpressure`), HARD_LIMIT_FACTOR times higher: past it uWS skips
 *   the socket on publish, and with `closeOnBackpressureLimit` cuts it without a close
 *   frame (the client sees 1006). A close frame needs room below that limit, which is
 *   why Tether's is lower. This is the last resort, for a burst that fills the headroom
 *   between two walks (e.g. a long backlog read in one batch); such a socket is still
 *   resumable, and never silently skipped over.
 *
 * Server memory per socket is bounded by uWS's limit plus one frame.
 */
import type { Connection } from './connection.ts';

/** uWS's hard limit as a multiple of MAX_BACKPRESSURE_BYTES: the headroom one walk interval may fill. */
export const HARD_LIMIT_FACTOR = 4;
/** How often the watch looks while events flow, in ms. */
export const CHECK_INTERVAL_MS = 50;

/** The edge's hard `maxBackpressure` for a configured MAX_BACKPRESSURE_BYTES. */
export function edgeBackpressureLimit(maxBackpressureBytes: number): number {
  return maxBackpressureBytes * HARD_LIMIT_FACTOR;
}

/** With no event fanned out and no socket holding bytes, the watch looks (at every socket) this often, ms. */
const IDLE_CHECK_MS = 1000;

/** A timer may fire a millisecond early (Node rounds): a check this close to a second after the last walk walks. */
const TIMER_SLACK_MS = 5;

/**
 * Watches outbound buffers for the slow-consumer policy and for the resource
 * monitor's buffered-bytes pressure. Channel events are the only bytes that reach a
 * socket without a per-socket send (the edge fans them out natively), so every
 * socket is looked at on the check after an event was fanned out — the walk costs
 * one lookup per socket, far less than the fan-out that made it necessary. Checks
 * run only as often as something changes (issue 13: a gateway at a low rate paid
 * for 20 timer wake-ups a second): a fan-out asks for one within CHECK_INTERVAL_MS
 * (`wake`, called after each fan-out by the composition root, src/gateway.ts); while
 * sockets hold bytes the checks go on at that pace; with nothing flowing and nothing
 * held, one full walk a second remains (direct sends are checked by `Connection.send`). Waiting a second to find a socket filling under
 * fan-out let a flood pass the edge's hard limit first (1006 instead of the coded
 * close): the wake-up on fan-out is what keeps the first check of a flood prompt.
 */
export class BackpressureWatch {
  private readonly holding = new Set<Connection>();
  private timer: NodeJS.Timeout | undefined;
  /** When the scheduled check runs (performance.now()); Infinity when none is. */
  private dueAt = Number.POSITIVE_INFINITY;
  private running = false;
  private fannedOut = false;
  /** When every socket was last looked at (performance.now()). */
  private walkedAt = 0;
  private held = 0;

  constructor(private readonly connections: () => Iterable<Connection>) {}

  start(): void {
    this.running = true;
    this.schedule(IDLE_CHECK_MS);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
    this.holding.clear();
  }

  /** Bytes queued across the sockets at the last check. */
  bufferedBytes(): number {
    return this.held;
  }

  /** An event was fanned out: look at every socket within CHECK_INTERVAL_MS (a flag test while one is due). */
  wake(): void {
    if (this.fannedOut) return; // a prompt check is already due
    this.fannedOut = true;
    if (this.dueAt - performance.now() > CHECK_INTERVAL_MS) this.schedule(CHECK_INTERVAL_MS);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  private check(): void {
    // Every socket after a fan-out and once a second; otherwise the sockets holding bytes.
    const now = performance.now();
    const flowing = this.fannedOut;
    const full = flowing || now - this.walkedAt >= IDLE_CHECK_MS - TIMER_SLACK_MS;
    this.fannedOut = false;
    if (full) this.walkedAt = now;
    const candidates = full ? this.connections() : [...this.holding];
    if (full) this.holding.clear();
    let held = 0;
    for (const conn of candidates) {
      const buffered = conn.socket?.getBufferedAmount() ?? 0;
      if (buffered === 0 || conn.closeIfSlow()) {
        this.holding.delete(conn);
        continue;
      }
      this.holding.add(conn);
      held += buffered;
    }
    this.held = held;
    // Events flowing keep the pace without a wake-up rescheduling the timer on every check.
    this.schedule(flowing || this.holding.size > 0 ? CHECK_INTERVAL_MS : IDLE_CHECK_MS);
  }
}
