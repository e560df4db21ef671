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
import { traffic } from './traffic.ts';

/** uWS's hard limit as a multiple of MAX_BACKPRESSURE_BYTES: the headroom one walk interval may fill. */
export const HARD_LIMIT_FACTOR = 4;
/** How often the watch looks while events flow, in ms. */
export const CHECK_INTERVAL_MS = 50;

/** The edge's hard `maxBackpressure` for a configured MAX_BACKPRESSURE_BYTES. */
export function edgeBackpressureLimit(maxBackpressureBytes: number): number {
  return maxBackpressureBytes * HARD_LIMIT_FACTOR;
}

/** While no event is fanned out, every socket is looked at every this many checks (once a second). */
const IDLE_FULL_WALK_EVERY = 20;

/**
 * Watches outbound buffers for the slow-consumer policy and for the resource
 * monitor's buffered-bytes pressure. Channel events are the only bytes that reach a
 * socket without a per-socket send (the edge fans them out natively), so every
 * socket is looked at on each check after an event was fanned out (traffic
 * counts them) — the walk costs one lookup per socket, far less than the fan-out
 * that made it necessary. While no event flows, only the sockets found holding
 * bytes are looked at again (direct sends are checked by `Connection.send`), and
 * all of them once a second: an idle gateway does not walk every socket 20 times a
 * second. Waiting a second to find a socket filling under fan-out let a flood pass
 * the edge's hard limit first (1006 instead of the coded close).
 */
export class BackpressureWatch {
  private readonly holding = new Set<Connection>();
  private timer: NodeJS.Timeout | undefined;
  private checks = 0;
  private held = 0;
  private dispatchedAtLastCheck = 0;

  constructor(private readonly connections: () => Iterable<Connection>) {}

  start(): void {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.holding.clear();
  }

  /** Bytes queued across the sockets at the last check. */
  bufferedBytes(): number {
    return this.held;
  }

  private check(): void {
    const fannedOut = traffic.eventsDispatched !== this.dispatchedAtLastCheck;
    this.dispatchedAtLastCheck = traffic.eventsDispatched;
    const full = this.checks++ % IDLE_FULL_WALK_EVERY === 0 || fannedOut;
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
  }
}
