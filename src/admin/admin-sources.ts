import type { ResourceSample } from '../admission/resource-monitor.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import type { EdgeInfo } from '../edge/uws.ts';
import type { GatewayMetrics } from '../observability/gateway-metrics.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import type { StoreHealth } from '../redis/store-health.ts';
import type { ConnectionWatch } from './connection-watch.ts';

/** What the admin routes read: built by the composition root (src/gateway.ts). */
export interface AdminSources {
  core: GatewayCore;
  /** The command connection: cleanup scans and the server's version. */
  redis: RedisConnection;
  store: StoreHealth;
  watch: ConnectionWatch;
  metrics: GatewayMetrics;
  resources: { latest: ResourceSample };
  channelsRead(): number;
  actionsWaiting(): number;
  /** Refusals by limit since start (RateLimits.stats.hits). */
  rateLimitHits(): Record<string, number>;
  startedAt: number;
  /** Which WebSocket edge serves this gateway (src/edge/select-edge.ts). */
  edge: EdgeInfo;
  isDraining(): boolean;
  /** Requests that carried Forwarded / X-Forwarded-* headers while TRUSTED_PROXIES is empty. */
  forwardedIgnored(): number;
  /** Connections on the SSE fallback (src/edge/sse/), of all the open sockets. */
  sseStreams(): number;
}
