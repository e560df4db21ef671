/**
 * Prometheus metrics (prom-client), one registry per process, served on `/metrics`.
 * Names, labels and what each one answers: docs/observability.md.
 *
 * Counters and histograms here are incremented where things happen; gauges that
 * describe a gateway's current state (connections by actor state, pool, queue,
 * Redis) are set at scrape time by gateway-metrics.ts, so the hot path pays
 * nothing for them. Per-frame and per-event counts are plain additions to `hot`
 * (hot-metrics.ts), turned into counters only when scraped.
 *
 * Labels are bounded: error codes come from the registry, states from the
 * machines; never a channel, user or connection ID.
 *
 * @example
 * import { metrics } from '../observability/metrics.ts';
 * metrics.admissionWait.observe({ outcome: 'admitted' }, waitedMs / 1000);
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { edgesInUse } from '../edge/uws.ts';
import { FastHistogram, registerHotCounters } from './hot-metrics.ts';

export const registry = new Registry();

/** How often event-loop delay is sampled, ms (the resource monitor's period too: src/admission/resource-monitor.ts). */
const EVENT_LOOP_SAMPLE_MS = 50;

// Node's own: event-loop lag (nodejs_eventloop_lag_*), heap (nodejs_heap_*), GC, CPU, fds.
// The lag is sampled by a timer of its own: every 50 ms wakes an idle process 20 times a
// second, where 20 ms woke it 50 (a stall still shows in full: a late tick records its delay).
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

registerHotCounters(registry);

const SECONDS_FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SECONDS_WAIT = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  registry,

  /** 1 for the edge serving sockets (src/edge/select-edge.ts): `uws` native or `ws` portable. */
  edgeInfo: new Gauge({
    name: 'tether_edge_info',
    help: 'The WebSocket edge this process runs (impl: uws or ws) and its build',
    labelNames: ['impl', 'version'],
    registers: [registry],
    collect() {
      for (const edge of edgesInUse()) this.set({ impl: edge.impl, version: edge.version }, 1);
    },
  }),

  connectionsOpened: new Counter({
    name: 'tether_connections_opened_total',
    help: 'Connections accepted: WebSocket upgrades and SSE streams',
    registers: [registry],
  }),
  /** Entries into each connection actor state (machines/connection.machine.ts). */
  transitions: new Counter({
    name: 'tether_connection_transitions_total',
    help: 'Connection actors entering each state',
    labelNames: ['to'],
    registers: [registry],
  }),
  /** Sessions that ended in `failed`, by the error code behind it. */
  sessionsFailed: new Counter({
    name: 'tether_sessions_failed_total',
    help: 'Sessions that ended in the failed state, by reason (an error code)',
    labelNames: ['reason'],
    registers: [registry],
  }),
  admissions: new Counter({
    name: 'tether_admissions_total',
    help: 'Admission decisions of the pool: admitted (directly or from the queue), queued, refused',
    labelNames: ['result'],
    registers: [registry],
  }),
  admissionWait: new Histogram({
    name: 'tether_admission_wait_seconds',
    help: 'Time queued connections waited for a slot, by outcome (admitted, left, timeout)',
    labelNames: ['outcome'],
    buckets: SECONDS_WAIT,
    registers: [registry],
  }),
  shed: new Counter({
    name: 'tether_shed_total',
    help: 'Connections closed by the pool to shed load (LOAD_SHED)',
    registers: [registry],
  }),
  errors: new Counter({
    name: 'tether_errors_total',
    help: 'Coded errors sent to clients (error frames and coded closes), by code and category',
    labelNames: ['code', 'category'],
    registers: [registry],
  }),
  /** Synced at scrape time from RateLimits.stats (gateway-metrics.ts): the refusals clients were sent. */
  rateLimitHits: new Counter({
    name: 'tether_rate_limit_hits_total',
    help: 'Requests refused by a rate or concurrency limit, by limit',
    labelNames: ['limit'],
    registers: [registry],
  }),
  replays: new Counter({
    name: 'tether_replays_total',
    help: 'Channel replays (resume, or subscribe with from) that sent at least one event',
    registers: [registry],
  }),
  replayedEvents: new Counter({
    name: 'tether_replayed_events_total',
    help: 'Events sent from the log by replays',
    registers: [registry],
  }),
  /** Per event fanned out: a FastHistogram (hot-metrics.ts), not prom-client's. */
  deliveryLatency: new FastHistogram(
    'tether_delivery_latency_seconds',
    'From an event being appended to its channel to its fan-out by this process',
    SECONDS_FAST,
  ).register(registry),
  resumes: new Counter({
    name: 'tether_resumes_total',
    help: 'hello frames that asked to resume a session, by result (resumed, expired, rejected) and whether every channel recovered',
    labelNames: ['result', 'recovered'],
    registers: [registry],
  }),
  actionsSubmitted: new Counter({
    name: 'tether_actions_submitted_total',
    help: 'Client action frames handed to the action dispatcher',
    registers: [registry],
  }),
  actionsWithdrawn: new Counter({
    name: 'tether_actions_withdrawn_total',
    help: 'Actions no worker took within ACTION_QUEUE_TIMEOUT_MS, withdrawn unrun and answered ACTION_TIMEOUT',
    registers: [registry],
  }),
  httpRequests: new Counter({
    name: 'tether_http_requests_total',
    help: 'Backend HTTP requests (POST /publish, GET /channels/:channel/history) by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  }),
  redisRoundTrip: new Histogram({
    name: 'tether_redis_roundtrip_seconds',
    help: 'Round trip of a periodic PING on the command connection',
    buckets: SECONDS_FAST,
    registers: [registry],
  }),
  adminDenied: new Counter({
    name: 'tether_admin_denied_total',
    help: 'Admin requests refused for a missing or wrong credential',
    labelNames: ['reason'],
    registers: [registry],
  }),
};

export type Metrics = typeof metrics;
