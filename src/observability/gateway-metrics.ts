/**
 * The scrape-time side of the metrics: gauges describing each bound gateway's
 * current state, set just before `/metrics` renders (nothing runs between
 * scrapes except a periodic Redis PING), and the rate-limit counters synced from
 * `RateLimits.stats`. Several gateways in one process (tests) are summed.
 */
import { Gauge } from 'prom-client';
import type { GatewayContext } from '../gateway/context.ts';
import type { ConnectionStateName } from '../supervisor/supervisor.ts';
import { metrics, registry } from './metrics.ts';

const POOL_STATES = ['accepting', 'saturated', 'shedding', 'draining', 'stopped'] as const;
const PRESSURE_LEVEL = { normal: 0, high: 1, critical: 2 } as const;

const gauge = (name: string, help: string, labelNames: string[] = []) =>
  new Gauge({ name, help, labelNames, registers: [registry] });

const gauges = {
  connections: gauge(
    'tether_connections',
    'Connection actors by state (connecting includes those queued for admission)',
    ['state'],
  ),
  sockets: gauge('tether_sockets_open', 'Open WebSocket connections'),
  poolState: gauge(
    'tether_pool_state',
    '1 for the state the pool actor is in (accepting, saturated, shedding, draining, stopped)',
    ['state'],
  ),
  poolActive: gauge('tether_pool_active', 'Sockets holding an admission slot'),
  poolCapacity: gauge('tether_pool_capacity', 'Slots the pool admits at once (MAX_CONNECTIONS)'),
  queueDepth: gauge('tether_admission_queue_depth', 'Connections waiting in the admission queue'),
  pressure: gauge(
    'tether_resource_pressure',
    'Resource pressure seen by the pool: 0 normal, 1 high (stops direct admission), 2 critical (sheds)',
  ),
  channelsRead: gauge('tether_channels_read', 'Channels read from Redis by this process (local subscribers)'),
  actionsWaiting: gauge('tether_actions_waiting', 'Action jobs waiting for a worker (sampled every 250 ms)'),
  redisUp: gauge('tether_redis_up', '1 when the Redis command connection is ready'),
};

export interface GatewayMetricsOptions {
  /** How often the Redis round trip is measured, ms. @defaultValue 5000 */
  redisPingMs?: number;
  /**
   * A PING unanswered this long counts as Redis down (`tether_redis_up` 0, `/readyz`
   * 503) and is observed as a round trip of this length, ms. ioredis keeps a
   * stalled server's connection `ready` and queues commands behind it for ever,
   * so without this a frozen Redis would look healthy. @defaultValue 2000
   */
  redisPingTimeoutMs?: number;
}

export interface GatewayMetrics {
  /** The last measured Redis PING round trip, ms (undefined before the first or while down). */
  readonly redisRoundTripMs: number | undefined;
  /** false while a PING has been waiting longer than the timeout (or the connection is not ready). */
  readonly redisResponding: boolean;
  stop(): void;
}

interface Bound {
  ctx: GatewayContext;
  /** RateLimits.stats.hits already added to the counter. */
  syncedHits: Record<string, number>;
  metrics: GatewayMetrics;
}

const bound = new Set<Bound>();

/** Count `ctx`'s state in `/metrics` until `stop()`; also starts the Redis PING timer. */
export function bindGatewayMetrics(ctx: GatewayContext, options: GatewayMetricsOptions = {}): GatewayMetrics {
  const timeoutMs = options.redisPingTimeoutMs ?? 2000;
  let roundTripMs: number | undefined;
  let responding = true;
  let inFlight = false;
  let stopped = false;
  const ping = () => {
    if (stopped || inFlight) return; // one PING at a time: a stalled one keeps Redis marked down
    if (ctx.redis.status !== 'ready') {
      roundTripMs = undefined;
      return;
    }
    inFlight = true;
    let late = false;
    const started = performance.now();
    const timeout = setTimeout(() => {
      late = true;
      roundTripMs = undefined;
      responding = false;
      metrics.redisRoundTrip.observe(timeoutMs / 1000); // at least this slow
    }, timeoutMs);
    timeout.unref();
    ctx.redis.ping().then(
      () => {
        clearTimeout(timeout);
        inFlight = false;
        if (late) {
          ping(); // Redis is back: measure again now rather than at the next tick
          return;
        }
        roundTripMs = performance.now() - started;
        responding = true;
        metrics.redisRoundTrip.observe(roundTripMs / 1000);
      },
      () => {
        clearTimeout(timeout);
        inFlight = false;
        roundTripMs = undefined;
      },
    );
  };
  const gatewayMetrics: GatewayMetrics = {
    get redisRoundTripMs() {
      return roundTripMs;
    },
    get redisResponding() {
      return responding && ctx.redis.status === 'ready';
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      syncRateLimitHits(entry); // keep what it counted
      bound.delete(entry);
    },
  };
  const entry: Bound = { ctx, syncedHits: {}, metrics: gatewayMetrics };
  bound.add(entry);
  ping();
  const timer = setInterval(ping, options.redisPingMs ?? 5000);
  timer.unref();
  return gatewayMetrics;
}

/** Whether `ctx`'s Redis answers its PINGs in time (true when nothing measures it). */
export function isRedisResponding(ctx: GatewayContext): boolean {
  for (const entry of bound) if (entry.ctx === ctx && !entry.metrics.redisResponding) return false;
  return ctx.redis.status === 'ready';
}

/** The Prometheus text exposition of everything in the registry. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  setGauges();
  for (const entry of bound) syncRateLimitHits(entry);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function setGauges(): void {
  const states: Record<string, number> = {};
  const pool: Record<string, number> = Object.fromEntries(POOL_STATES.map((s) => [s, 0]));
  let sockets = 0;
  let active = 0;
  let capacity = 0;
  let waiting = 0;
  let pressure = 0;
  let channels = 0;
  let actions = 0;
  let redisUp = bound.size > 0 ? 1 : 0;
  for (const { ctx } of bound) {
    for (const [state, count] of Object.entries(ctx.supervisor.stateCounts()) as [
      ConnectionStateName,
      number,
    ][])
      states[state] = (states[state] ?? 0) + count;
    const poolState = ctx.supervisor.poolState();
    pool[poolState] = (pool[poolState] ?? 0) + 1;
    const poolContext = ctx.supervisor.poolContext();
    active += poolContext.active;
    capacity += poolContext.maxConnections;
    waiting += poolContext.waiting;
    pressure = Math.max(pressure, PRESSURE_LEVEL[poolContext.pressure]);
    sockets += ctx.connections.size;
    channels += ctx.reader.channelCount();
    actions += ctx.actions.depth();
  }
  for (const entry of bound) if (!entry.metrics.redisResponding) redisUp = 0;
  // Terminal states are passing through (actors are forgotten once done): report the live ones.
  for (const state of ['connecting', 'connected', 'reconnecting'] as const)
    gauges.connections.set({ state }, states[state] ?? 0);
  for (const [state, value] of Object.entries(pool)) gauges.poolState.set({ state }, value);
  gauges.sockets.set(sockets);
  gauges.poolActive.set(active);
  gauges.poolCapacity.set(capacity);
  gauges.queueDepth.set(waiting);
  gauges.pressure.set(pressure);
  gauges.channelsRead.set(channels);
  gauges.actionsWaiting.set(actions);
  gauges.redisUp.set(redisUp);
}

function syncRateLimitHits(entry: Bound): void {
  const hits = entry.ctx.limits.limits.stats.hits;
  for (const [limit, total] of Object.entries(hits)) {
    const delta = total - (entry.syncedHits[limit] ?? 0);
    if (delta > 0) metrics.rateLimitHits.inc({ limit }, delta);
    entry.syncedHits[limit] = total;
  }
}
