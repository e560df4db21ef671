/**
 * The scrape-time side of the metrics: gauges describing one gateway's current
 * state, read by prom-client's `collect()` when `/metrics` renders (nothing runs
 * between scrapes), in a registry of the gateway's own, merged at render time with
 * the process-wide counters and histograms (metrics.ts). Two gateways in one
 * process (tests) each report their own state.
 */
import { Gauge, Registry } from 'prom-client';
import type { PoolContext } from '../../machines/pool.machine.ts';
import type { LiveStateName } from '../core/supervisor.ts';
import { metrics, registry as processRegistry } from './metrics.ts';

const POOL_STATES = ['accepting', 'saturated', 'shedding', 'draining', 'stopped'] as const;
const PRESSURE_LEVEL = { normal: 0, high: 1, critical: 2 } as const;

/** What the gauges read from one gateway. */
export interface GatewayGaugeSource {
  stateCounts(): Readonly<Record<LiveStateName, number>>;
  poolState(): string;
  poolContext(): PoolContext;
  openSockets(): number;
  channelsRead(): number;
  actionsWaiting(): number;
  storeReady(): boolean;
  /** Totals of refusals by limit (RateLimits.stats.hits), synced into tether_rate_limit_hits_total. */
  rateLimitHits(): Record<string, number>;
  /** The longest event-loop stall in the last minute, ms (ResourceMonitor.longestLagMs). */
  longestStallMs(): number;
}

export interface GatewayMetrics {
  /** This gateway's gauges (the process-wide metrics are in metrics.ts). */
  readonly registry: Registry;
  /** The Prometheus text exposition: this gateway's gauges and the process's metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function gatewayMetrics(source: GatewayGaugeSource): GatewayMetrics {
  const own = new Registry();
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [own],
      collect() {
        read(this);
      },
    });
  gauge(
    'tether_connections',
    'Connection actors by state (connecting includes those queued for admission)',
    (g) => {
      const counts = source.stateCounts();
      for (const state of ['connecting', 'connected', 'reconnecting'] as const)
        g.set({ state }, counts[state]);
    },
    ['state'],
  );
  // Both transports: an SSE stream holds a slot and a session as a WebSocket does (how many are
  // SSE streams: GET /health/websocket, src/admin/health-report.ts).
  gauge('tether_sockets_open', 'Open client connections: WebSockets and SSE streams', (g) =>
    g.set(source.openSockets()),
  );
  gauge(
    'tether_pool_state',
    '1 for the state the pool actor is in (accepting, saturated, shedding, draining, stopped)',
    (g) => {
      const current = source.poolState();
      for (const state of POOL_STATES) g.set({ state }, state === current ? 1 : 0);
    },
    ['state'],
  );
  gauge('tether_pool_active', 'Sockets holding an admission slot', (g) => g.set(source.poolContext().active));
  gauge('tether_pool_capacity', 'Slots the pool admits at once (MAX_CONNECTIONS)', (g) =>
    g.set(source.poolContext().maxConnections),
  );
  gauge('tether_admission_queue_depth', 'Connections waiting in the admission queue', (g) =>
    g.set(source.poolContext().waiting),
  );
  gauge(
    'tether_event_loop_stall_max_seconds',
    'Longest event-loop stall in the last 60 s, from the admission resource monitor (sampled every RESOURCE_SAMPLE_MS; nodejs_eventloop_lag_max_seconds can miss a single stall). Reading it resets nothing: every scraper sees every stall',
    (g) => g.set(source.longestStallMs() / 1000),
  );
  gauge(
    'tether_resource_pressure',
    'Resource pressure seen by the pool: 0 normal, 1 high (stops direct admission), 2 critical (sheds)',
    (g) => g.set(PRESSURE_LEVEL[source.poolContext().pressure]),
  );
  gauge('tether_channels_read', 'Channels read from Redis by this process (local subscribers)', (g) =>
    g.set(source.channelsRead()),
  );
  gauge('tether_actions_waiting', 'Action jobs waiting for a worker (sampled every 250 ms)', (g) =>
    g.set(source.actionsWaiting()),
  );
  gauge('tether_redis_up', '1 when Redis answers its health checks in time', (g) =>
    g.set(source.storeReady() ? 1 : 0),
  );

  const synced: Record<string, number> = {};
  const syncRateLimitHits = () => {
    for (const [limit, total] of Object.entries(source.rateLimitHits())) {
      const delta = total - (synced[limit] ?? 0);
      if (delta > 0) metrics.rateLimitHits.inc({ limit }, delta);
      synced[limit] = total;
    }
  };
  return {
    registry: own,
    async render() {
      syncRateLimitHits();
      const merged = Registry.merge([processRegistry, own]);
      return { contentType: merged.contentType, body: await merged.metrics() };
    },
  };
}
