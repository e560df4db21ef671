/**
 * uWS's `idleTimeout` and `sendPingsAutomatically` for the portable edge, with the
 * same timing (src/edge/heartbeat-timing.ts): a peer silent for `pingAfterMs` is
 * pinged; silent `pongTimeoutMs` more, it is cut (1006). Without automatic pings,
 * it is cut after the whole `idleTimeout`. One timer per route walks its sockets —
 * no timer per socket — and is its coarse clock: a socket records the walk's time
 * when its peer speaks, so a message costs a field write, not a clock read.
 */
import { heartbeatTiming } from '../heartbeat-timing.ts';
import type { EdgeSocket } from './edge-socket.ts';

/** How often sockets are looked at (ms); uWS's own granularity is 4 s. */
const SWEEP_MS = 500;

export class IdleSweeper<T> {
  private clock = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly pingAfterMs: number;
  private readonly cutAfterMs: number;

  constructor(
    idleTimeoutS: number,
    private readonly pings: boolean,
    private readonly sockets: ReadonlySet<EdgeSocket<T>>,
  ) {
    const timing = heartbeatTiming(idleTimeoutS);
    this.pingAfterMs = pings ? timing.pingAfterMs : idleTimeoutS * 1000;
    this.cutAfterMs = timing.pongTimeoutMs;
  }

  now(): number {
    return this.clock;
  }

  /** Walk while there are sockets; the timer never holds the process open. */
  ensureRunning(): void {
    if (this.timer || this.pingAfterMs <= 0) return;
    this.clock = Date.now();
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  private sweep(): void {
    if (this.sockets.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    this.clock = now;
    for (const ws of this.sockets) {
      if (ws.pingedAt === 0) {
        if (now - ws.lastSeen < this.pingAfterMs) continue;
        if (!this.pings) {
          ws.timedOut();
          continue;
        }
        ws.pingedAt = now;
        if (ws.raw.readyState === ws.raw.OPEN) ws.raw.ping();
      } else if (now - ws.pingedAt >= this.cutAfterMs) {
        ws.timedOut();
      }
    }
  }
}
