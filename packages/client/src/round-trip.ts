/**
 * What one `ping` → `pong` says: the round trip, and how far the server's clock is
 * from this one. As NTP does, it assumes the path is symmetric, so the server
 * stamped `serverTime` halfway through the round trip. Used by the heartbeat
 * (`client.latency`) and by `diagnose()`.
 */
export interface RoundTrip {
  /** ms from sending the ping to receiving the pong. */
  rttMs: number;
  /** Server clock minus this clock, ms (positive: the server is ahead). */
  clockSkewMs: number;
}

export function roundTrip(sentAt: number, serverTime: number, receivedAt: number = Date.now()): RoundTrip {
  const rttMs = receivedAt - sentAt;
  return { rttMs, clockSkewMs: Math.round(serverTime - (sentAt + rttMs / 2)) };
}
