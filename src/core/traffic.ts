/**
 * Traffic counts taken on the hot path — per frame, per event fanned out — as
 * plain number additions (a labelled prom-client `inc()` costs 25–40× more:
 * bench/observability-overhead.ts). Monotonic since the process started;
 * src/observability/hot-metrics.ts exposes them when `/metrics` is scraped.
 */
export const traffic = {
  framesIn: 0,
  framesOutDirect: 0,
  framesOutFanout: 0,
  eventsDispatched: 0,
  actionReplies: 0,
  /** Ephemeral events a backed-up socket never got: superseded by a newer one (src/core/connection.ts `offer`). */
  ephemeralDropped: 0,
};
