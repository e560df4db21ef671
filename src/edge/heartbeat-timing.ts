/**
 * When the edge's automatic heartbeat acts for a given `idleTimeout` (s): it pings
 * a socket silent for `pingAfterMs` and closes it when no pong (or any frame)
 * arrives in the `pongTimeoutMs` after. Sends do not count as activity, only what
 * the peer sends. Measured on native uWS 20.30: 8 s → 4 + 4, 16 s → 8 + 8,
 * 40 s → 24 + 16; the margin is half the timeout, at most 16 s. The portable edge
 * (src/edge/ws-edge/idle-sweeper.ts) keeps the same timing.
 */
export function heartbeatTiming(idleTimeoutS: number): { pingAfterMs: number; pongTimeoutMs: number } {
  const marginS = Math.min(idleTimeoutS / 2, 16);
  return { pingAfterMs: (idleTimeoutS - marginS) * 1000, pongTimeoutMs: marginS * 1000 };
}
