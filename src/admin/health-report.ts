/**
 * `GET /health/websocket`: is this gateway process healthy, and is it configured
 * sanely? The reliability seeds' diagnostics — pool state and counts, Redis
 * reachability and round trip, resources — plus configuration checks that would
 * otherwise only show up under load (file-descriptor limit vs MAX_CONNECTIONS,
 * heartbeat vs resume window, Redis version for gap detection).
 *
 * `status`: `unhealthy` (503) when this process cannot serve (Redis down,
 * draining); `degraded` when it serves but queues or sheds; `healthy` otherwise.
 * Configuration findings never change the status: they are advice.
 */
import { readFile } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';
import type { Redis } from 'ioredis';
import type { ResourceSample } from '../admission/resource-monitor.ts';
import type { Config } from '../config/config.ts';
import { type SseCompression, sseCompression } from '../edge/sse/sse-gzip.ts';
import type { EdgeInfo } from '../edge/uws.ts';
import { activeTracing } from '../observability/tracing.ts';
import {
  EVICTION_ADVICE,
  type EvictionPolicy,
  evicting,
  evictionPolicies,
} from '../redis/eviction-policy.ts';
import { masters, nodeName } from '../redis/redis-target.ts';
import type { AdminSources } from './admin-sources.ts';

export interface ConfigCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  node: string;
  uptimeS: number;
  draining: boolean;
  /** Which WebSocket edge serves this process, and why (src/edge/select-edge.ts). */
  edge: EdgeInfo;
  pool: Record<string, unknown>;
  /** `sseStreams`: how many of the sockets are the SSE fallback's (docs/protocol.md §1.1). */
  /** `byState`: actors in each live state now; `endedSinceStart`: actors ended in each final state. */
  connections: {
    sockets: number;
    sseStreams: number;
    byState: Readonly<Record<string, number>>;
    endedSinceStart: Readonly<Record<string, number>>;
  };
  redis: {
    status: string;
    roundTripMs: number | undefined;
    /** The oldest master's version. */
    version: string | undefined;
    /** Each master (one on a single server or behind Sentinel): its version and last PING round trip. */
    masters: { node: string; version: string | undefined; roundTripMs: number | undefined }[];
  };
  resources: ResourceSample & { heapUsedBytes: number; heapLimitBytes: number; rssBytes: number };
  tracing: { enabled: boolean; exporters: readonly string[] };
  /** permessage-deflate offered to clients (WS_COMPRESSION…); both edges negotiate it (docs/edge.md). */
  compression: Config['compression'];
  /** gzip on SSE streams for clients that accept it, from the same settings (src/edge/sse/sse-gzip.ts). */
  sseCompression: SseCompression;
  config: ConfigCheck[];
}

export async function websocketHealth(sources: AdminSources): Promise<HealthReport> {
  const { core, redis } = sources;
  const pool = core.supervisor.poolContext();
  const poolState = core.supervisor.poolState();
  // A stalled Redis keeps its connection `ready`: only a timely PING says it answers.
  const redisReady = sources.store.isReady();
  const draining = sources.isDraining() || poolState === 'draining' || poolState === 'stopped';
  // Never wait on a Redis that does not answer.
  const masterVersions = redisReady
    ? await Promise.all(
        masters(redis).map((node) => serverVersion(node).catch(() => versions.get(nodeName(node)))),
      )
    : masters(redis).map((node) => versions.get(nodeName(node)));
  const redisVersion = oldest(masterVersions);
  const policies = redisReady ? await evictionPolicies(redis) : [];
  const roundTrips = new Map(sources.store.masters.map((m) => [m.node, m.roundTripMs]));
  let status: HealthReport['status'] = 'healthy';
  if (!redisReady || draining) status = 'unhealthy';
  else if (poolState !== 'accepting' || pool.pressure !== 'normal' || sources.store.clusterFault)
    status = 'degraded';
  const heap = getHeapStatistics();
  const tracing = activeTracing();
  return {
    status,
    node: core.config.nodeId,
    uptimeS: Math.round((Date.now() - sources.startedAt) / 1000),
    draining,
    edge: sources.edge,
    pool: { state: poolState, ...pool },
    connections: {
      sockets: core.connections.size,
      sseStreams: sources.sseStreams(),
      byState: core.supervisor.stateCounts(),
      endedSinceStart: core.supervisor.endedCounts(),
    },
    redis: {
      status:
        sources.store.clusterFault ??
        (redisReady || redis.status !== 'ready' ? redis.status : 'not responding'),
      roundTripMs: sources.store.roundTripMs,
      version: redisVersion,
      masters: masters(redis).map((node, i) => ({
        node: nodeName(node),
        version: masterVersions[i],
        roundTripMs: roundTrips.get(nodeName(node)),
      })),
    },
    resources: {
      ...sources.resources.latest,
      heapUsedBytes: heap.used_heap_size,
      heapLimitBytes: heap.heap_size_limit,
      rssBytes: process.memoryUsage.rss(),
    },
    tracing: { enabled: tracing.enabled, exporters: tracing.exporters },
    compression: core.config.compression,
    sseCompression: sseCompression(core.config.compression),
    config: [
      ...(await configChecks(core.config, redisVersion)),
      ...evictionChecks(policies),
      ...proxyChecks(core.config, sources),
    ],
  };
}

async function configChecks(config: Config, redisVersion: string | undefined): Promise<ConfigCheck[]> {
  const checks: ConfigCheck[] = [
    {
      name: 'auth',
      ok: !config.devMode,
      detail: config.devMode
        ? 'development mode: no AUTH_* set, anyone can mint a token'
        : 'client tokens are verified',
    },
    {
      name: 'publish_api_keys',
      ok: config.publishApiKeys.length > 0,
      detail: `${config.publishApiKeys.length} key(s) for POST /publish`,
    },
    {
      name: 'heartbeat_vs_resume_window',
      ok: config.idleTimeoutS * 1000 < config.resumeWindowMs,
      detail: `a dead socket is noticed within ${config.idleTimeoutS} s; sessions stay resumable ${config.resumeWindowMs / 1000} s`,
    },
    {
      name: 'backpressure_vs_message_size',
      ok: config.maxBackpressureBytes >= 2 * config.maxMessageBytes,
      detail: `MAX_BACKPRESSURE_BYTES=${config.maxBackpressureBytes} should hold at least two frames of MAX_MESSAGE_BYTES=${config.maxMessageBytes}`,
    },
  ];
  const fileLimit = await openFileLimit();
  if (fileLimit !== undefined) {
    // Each socket is a descriptor; Redis, the listener and logs need a few more.
    const needed = config.maxConnections + 64;
    checks.push({
      name: 'file_descriptors',
      ok: fileLimit >= needed,
      detail: `RLIMIT_NOFILE ${fileLimit}; MAX_CONNECTIONS=${config.maxConnections} needs about ${needed}`,
    });
  }
  if (redisVersion !== undefined) {
    checks.push({
      name: 'redis_version',
      ok: Number(redisVersion.split('.')[0]) >= 7,
      detail: `Redis ${redisVersion}; gap detection on resume needs ≥ 7 (XINFO max-deleted-entry-id)`,
    });
  }
  return checks;
}

/** Whether Redis may drop Tether's keys (src/redis/eviction-policy.ts); none where it cannot be read. */
function evictionChecks(policies: EvictionPolicy[]): ConfigCheck[] {
  if (!policies.some(({ policy }) => policy !== undefined)) return [];
  const found = evicting(policies);
  return [
    {
      name: 'redis_eviction_policy',
      ok: found.length === 0,
      detail:
        found.length === 0
          ? 'maxmemory-policy noeviction: at its memory limit Redis refuses writes (STORE_UNAVAILABLE) and drops nothing'
          : `maxmemory-policy ${found.map(({ node, policy }) => `${policy} on ${node}`).join(', ')}: ${EVICTION_ADVICE}`,
    },
  ];
}

/** Behind a proxy (ops/nginx/README.md): headers nobody believes, and which pages may connect. */
function proxyChecks(config: Config, sources: AdminSources): ConfigCheck[] {
  const ignored = sources.forwardedIgnored();
  const anyOrigin = config.allowedOrigins.length === 0 || config.allowedOrigins.includes('*');
  return [
    {
      name: 'trusted_proxies',
      ok: ignored === 0,
      detail:
        ignored === 0
          ? `${config.limits.trustedProxies.length} trusted proxy entries; no ignored forwarding headers`
          : `${ignored} request(s) carried Forwarded / X-Forwarded-For but TRUSTED_PROXIES is empty: they were not believed, so per-IP limits and logs see the proxy's address — set TRUSTED_PROXIES to the proxy's address or range`,
    },
    {
      name: 'allowed_origins',
      ok: !(anyOrigin && config.production),
      detail: anyOrigin
        ? 'ALLOWED_ORIGINS unset: pages of any web site may open a WebSocket'
        : `browsers may connect from ${config.allowedOrigins.join(', ')}`,
    },
  ];
}

/** Versions by `host:port`: a server's version is asked once. */
const versions = new Map<string, string>();

async function serverVersion(node: Redis): Promise<string | undefined> {
  const known = versions.get(nodeName(node));
  if (known) return known;
  const version = /redis_version:([^\r\n]+)/.exec(await node.info('server'))?.[1];
  if (version) versions.set(nodeName(node), version);
  return version;
}

function oldest(found: (string | undefined)[]): string | undefined {
  const known = found.filter((v): v is string => v !== undefined);
  return known.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))[0];
}

/** The soft limit on open files (Linux /proc), or undefined elsewhere. */
async function openFileLimit(): Promise<number | undefined> {
  try {
    const limits = await readFile('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
