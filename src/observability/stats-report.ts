/**
 * The numbers behind `/ws/stats`, `/ws/stats/detailed` and `/ws/stats/rate-limit`.
 * Aggregates only, computed on request from in-memory state (no Redis round trip),
 * so a dashboard polling them costs the gateway one pass over its sockets.
 */
import type { ResourceSample } from '../admission/resource-monitor.ts';
import type { Connection } from '../gateway/connection.ts';
import type { GatewayContext } from '../gateway/context.ts';
import { metrics } from './metrics.ts';

/** Sockets listed by `/ws/stats/detailed`, oldest first. @defaultValue 20 */
export const DETAILED_OLDEST = 20;

export function basicStats(ctx: GatewayContext) {
  return {
    node: ctx.config.nodeId,
    pool: ctx.supervisor.poolState(),
    sockets: ctx.connections.size,
    sessions: ctx.supervisor.stateCounts(),
    channelsRead: ctx.reader.channelCount(),
  };
}

export function detailedStats(
  ctx: GatewayContext,
  resources: { latest: ResourceSample },
  uptimeMs: number,
  oldest = DETAILED_OLDEST,
) {
  const byTier: Record<string, number> = {};
  let admitted = 0;
  let subscriptions = 0;
  let bufferedBytes = 0;
  let awaitingHello = 0;
  for (const conn of ctx.connections.values()) {
    const tier = conn.principal?.tier ?? 'unauthenticated';
    byTier[tier] = (byTier[tier] ?? 0) + 1;
    if (conn.admitted) admitted++;
    if (conn.hello !== 'done') awaitingHello++;
    subscriptions += conn.subscriptions.size;
    bufferedBytes += conn.ws?.getBufferedAmount() ?? 0;
  }
  const memory = process.memoryUsage();
  return {
    ...basicStats(ctx),
    uptimeS: Math.round(uptimeMs / 1000),
    poolContext: ctx.supervisor.poolContext(),
    socketBreakdown: { admitted, awaitingHello, byTier, subscriptions, bufferedBytes },
    actions: { waiting: ctx.actions.depth() },
    resources: { ...resources.latest, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss },
    oldest: [...ctx.connections.values()]
      .sort((a, b) => a.openedAt - b.openedAt)
      .slice(0, oldest)
      .map(socketSummary),
  };
}

/** What an operator may see about one socket: identities and counts, never tokens. */
export function socketSummary(conn: Connection) {
  return {
    connectionId: conn.id,
    correlationId: conn.correlationId,
    sessionId: conn.sessionId,
    userId: conn.principal?.userId,
    tier: conn.principal?.tier,
    ip: conn.handshake.ip,
    userAgent: conn.handshake.userAgent,
    openedAt: new Date(conn.openedAt).toISOString(),
    hello: conn.hello,
    admitted: conn.admitted,
    priority: conn.admitted ? conn.priority : undefined,
    channels: [...conn.subscriptions.keys()],
    replaying: [...conn.replaying],
    bufferedBytes: conn.ws?.getBufferedAmount() ?? 0,
  };
}

export async function rateLimitStats(ctx: GatewayContext) {
  const hits: Record<string, number> = { ...ctx.limits.limits.stats.hits };
  // Per-connection frame limits are counted where the error is sent (connection-events.ts).
  const counted = await metrics.rateLimitHits.get();
  const messages = counted.values.find((v) => v.labels.limit === 'messages')?.value;
  if (messages) hits.messages = messages;
  const { trustedProxies, ...limits } = ctx.config.limits;
  return {
    node: ctx.config.nodeId,
    limits: { ...limits, trustedProxies: trustedProxies.length },
    hitsSinceStart: hits,
    note: 'limits are per window across all gateway processes (Redis); hits are this process’s refusals',
  };
}
