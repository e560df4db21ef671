/**
 * The numbers behind `/ws/stats`, `/ws/stats/detailed` and `/ws/stats/rate-limit`.
 * Aggregates only, computed on request from in-memory state (no Redis round trip),
 * so a dashboard polling them costs the gateway one pass over its sockets.
 */
import type { Connection } from '../core/connection.ts';
import { helloPhase } from '../core/connection-actor.ts';
import type { Supervisor } from '../core/supervisor.ts';
import type { AdminSources } from './admin-sources.ts';

/** Sockets listed by `/ws/stats/detailed`, oldest first. @defaultValue 20 */
export const DETAILED_OLDEST = 20;

export function basicStats(sources: AdminSources) {
  const { core } = sources;
  return {
    node: core.config.nodeId,
    pool: core.supervisor.poolState(),
    sockets: core.connections.size,
    sessions: core.supervisor.stateCounts(),
    endedSinceStart: core.supervisor.endedCounts(),
    channelsRead: sources.channelsRead(),
  };
}

export function detailedStats(sources: AdminSources, oldest = DETAILED_OLDEST) {
  const { core } = sources;
  const summary = (conn: Connection) => socketSummary(conn, core.supervisor);
  // A Map: a tier is the token's word, and `__proto__` or `constructor` must count like any other.
  const byTier = new Map<string, number>();
  let admitted = 0;
  let subscriptions = 0;
  let bufferedBytes = 0;
  let awaitingHello = 0;
  for (const conn of core.connections.values()) {
    const tier = conn.principal?.tier ?? 'unauthenticated';
    byTier.set(tier, (byTier.get(tier) ?? 0) + 1);
    if (core.supervisor.holdsSlot(conn.id)) admitted++;
    if (helloPhase(conn.actor) !== 'done') awaitingHello++;
    subscriptions += conn.subscriptions.size;
    bufferedBytes += conn.socket?.getBufferedAmount() ?? 0;
  }
  const memory = process.memoryUsage();
  return {
    ...basicStats(sources),
    uptimeS: Math.round((Date.now() - sources.startedAt) / 1000),
    poolContext: core.supervisor.poolContext(),
    socketBreakdown: {
      admitted,
      awaitingHello,
      byTier: Object.fromEntries(byTier), // own properties, whatever their names
      subscriptions,
      bufferedBytes,
    },
    actions: { waiting: sources.actionsWaiting() },
    resources: { ...sources.resources.latest, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss },
    oldest: [...core.connections.values()]
      .sort((a, b) => a.openedAt - b.openedAt)
      .slice(0, oldest)
      .map(summary),
  };
}

/** What an operator may see about one socket: identities and counts, never tokens. */
export function socketSummary(conn: Connection, supervisor: Supervisor) {
  const admitted = supervisor.holdsSlot(conn.id);
  return {
    connectionId: conn.id,
    correlationId: conn.correlationId,
    sessionId: conn.sessionId,
    userId: conn.principal?.userId,
    tier: conn.principal?.tier,
    transport: conn.handshake.transport,
    ip: conn.handshake.ip,
    userAgent: conn.handshake.userAgent,
    openedAt: new Date(conn.openedAt).toISOString(),
    hello: helloPhase(conn.actor),
    admitted,
    priority: admitted ? conn.priority : undefined,
    channels: [...conn.subscriptions.keys()],
    replaying: [...conn.replaying],
    bufferedBytes: conn.socket?.getBufferedAmount() ?? 0,
  };
}

export function rateLimitStats(sources: AdminSources) {
  const { config } = sources.core;
  const hits: Record<string, number> = { ...sources.rateLimitHits() };
  const { trustedProxies, ...limits } = config.limits;
  return {
    node: config.nodeId,
    limits: { ...limits, trustedProxies: trustedProxies.length },
    hitsSinceStart: hits,
    note: 'limits are per window across all gateway processes (Redis); hits are this process’s refusals',
  };
}
