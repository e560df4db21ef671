/**
 * Slow consumers: a socket whose outbound buffer passes MAX_BACKPRESSURE_BYTES is
 * closed with 4008 `SLOW_CONSUMER` (no error frame: the buffer is what is full), its
 * session moves to `reconnecting`, and the client resumes from the channel logs.
 *
 * Two limits, so that the coded close is the normal path:
 * - **Tether's** (MAX_BACKPRESSURE_BYTES): checked by `Connection.send` on every direct
 *   send, and by this watch for channel events, which uWS fans out natively (topic
 *   publish) where no per-socket send is seen. The watch walks the sockets that have
 *   channels every CHECK_INTERVAL_MS, only while events are being fanned out.
 * - **uWS's own** (`maxBackpressure`), HARD_LIMIT_FACTOR times higher: past it uWS skips
 *   the socket on publish, and with `closeOnBackpressureLimit` cuts it without a close
 *   frame (the client sees 1006). A close frame needs room below that limit, which is
 *   why Tether's is lower. This is the last resort, for a burst that fills the headroom
 *   between two walks (e.g. a long backlog read in one batch); such a socket is still
 *   resumable, and never silently skipped over.
 *
 * Server memory per socket is bounded by uWS's limit plus one frame.
 */
import type { GatewayCore } from './gateway-core.ts';
import { traffic } from './traffic.ts';

/** uWS's hard limit as a multiple of MAX_BACKPRESSURE_BYTES: the headroom one walk interval may fill. */
export const HARD_LIMIT_FACTOR = 4;
/** How often the watch looks while events flow, in ms. */
export const CHECK_INTERVAL_MS = 50;

/** The edge's hard `maxBackpressure` for a configured MAX_BACKPRESSURE_BYTES. */
export function edgeBackpressureLimit(maxBackpressureBytes: number): number {
  return maxBackpressureBytes * HARD_LIMIT_FACTOR;
}

/** Start watching `core`'s sockets; stops by itself when the pool stops. Returns a stop function. */
export function watchSlowConsumers(core: GatewayCore): () => void {
  let fannedOut = traffic.framesOutFanout;
  const timer = setInterval(() => {
    if (traffic.framesOutFanout === fannedOut) return; // nothing published since: no buffer grew
    fannedOut = traffic.framesOutFanout;
    for (const conn of core.connections.values()) {
      if (conn.subscriptions.size > 0) conn.closeIfSlow();
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  const stop = () => clearInterval(timer);
  core.supervisor.pool.subscribe({
    next: (snapshot) => {
      if (snapshot.status !== 'active') stop();
    },
    complete: stop,
    error: stop,
  });
  return stop;
}
