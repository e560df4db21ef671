/**
 * Operations HTTP routes on the gateway's own port (docs/observability.md):
 *
 * - public: `GET /metrics` (Prometheus text), `GET /ws/stats` (counts only);
 * - admin (ADMIN_API_KEY): `GET /health/websocket`, `GET /ws/stats/detailed`,
 *   `GET /ws/stats/rate-limit`, `POST /ws/cleanup[?dryRun=true]` (stale sessions, and
 *   admission queues of processes that are gone), `GET /connections/:id`.
 *
 * Liveness and readiness (`/livez`, `/readyz`) stay with the core routes: a load
 * balancer must reach them without a credential.
 */
import { bullPrefix } from '../actions/action-job.ts';
import { removeOrphanedAdmissionQueues } from '../admission/admission-queue.ts';
import type { ResourceSample } from '../admission/resource-monitor.ts';
import { type HttpResponse, reply, replyJson, trackAbort } from '../edge/uws.ts';
import type { GatewayContext } from '../gateway/context.ts';
import { connectionSnapshot } from '../observability/connection-snapshot.ts';
import { isRedisResponding, renderMetrics } from '../observability/gateway-metrics.ts';
import type { GatewayObserver } from '../observability/gateway-observer.ts';
import { websocketHealth } from '../observability/health-report.ts';
import { errorBody, requestCorrelationId } from '../observability/http-tracing.ts';
import { basicStats, detailedStats, rateLimitStats } from '../observability/stats-report.ts';
import { redisKeys } from '../redis/keys.ts';
import { liveNodeIds } from '../redis/node-presence.ts';
import { removeStaleSessions } from '../session/stale-sessions.ts';
import { adminGuard } from './admin-auth.ts';

export interface AdminRouteOptions {
  observer: GatewayObserver;
  resources: { latest: ResourceSample };
  isDraining(): boolean;
}

export function mountAdminRoutes(ctx: GatewayContext, options: AdminRouteOptions): void {
  const { app } = ctx;
  const { observer, resources } = options;
  const guard = adminGuard(ctx);

  app.get('/metrics', (res, req) => {
    trackAbort(res);
    answer(res, requestCorrelationId(req), async () => {
      const { contentType, body } = await renderMetrics();
      reply(res, 200, body, contentType);
    });
  });

  app.get('/ws/stats', (res) => replyJson(res, 200, basicStats(ctx)));

  app.get('/health/websocket', (res, req) => {
    trackAbort(res);
    if (!guard(res, req)) return;
    answer(res, requestCorrelationId(req), async () => {
      const report = await websocketHealth({ ctx, observer, resources, isDraining: options.isDraining });
      replyJson(res, report.status === 'unhealthy' ? 503 : 200, report);
    });
  });

  app.get('/ws/stats/detailed', (res, req) => {
    if (!guard(res, req)) return;
    replyJson(res, 200, detailedStats(ctx, resources, observer.uptimeMs));
  });

  app.get('/ws/stats/rate-limit', (res, req) => {
    trackAbort(res);
    if (!guard(res, req)) return;
    answer(res, requestCorrelationId(req), async () => replyJson(res, 200, await rateLimitStats(ctx)));
  });

  app.post('/ws/cleanup', (res, req) => {
    trackAbort(res);
    if (!guard(res, req)) return;
    const dryRun = /^(1|true|yes)$/i.test(req.getQuery('dryRun') ?? '');
    const correlationId = requestCorrelationId(req);
    // The request body is not used; uWS needs it consumed (or the request aborted) all the same.
    res.onData(() => {});
    answer(res, correlationId, async () => {
      if (!isRedisResponding(ctx)) {
        replyJson(res, 503, errorBody({ error: 'STORE_UNAVAILABLE', retryAfterMs: 1000 }, correlationId), {
          'retry-after': '1',
        });
        return;
      }
      const { redisPrefix } = ctx.config;
      const report = await removeStaleSessions(ctx.redis, {
        prefix: redisPrefix,
        resumeWindowMs: ctx.config.resumeWindowMs,
        liveSessionIds: new Set(ctx.supervisor.liveSessionIds()),
        dryRun,
      });
      const admissionQueues = await removeOrphanedAdmissionQueues(ctx.redis, {
        bullPrefix: bullPrefix(redisPrefix),
        liveNodeIds: () => liveNodeIds(ctx.redis, redisKeys(redisPrefix)),
        dryRun,
      });
      ctx.logger.info(
        {
          audit: 'admin.cleanup',
          scanned: report.scanned,
          stale: report.stale.length,
          removed: report.removed,
          staleAdmissionQueues: admissionQueues.stale,
          dryRun,
        },
        'stale sessions and admission queues cleaned up',
      );
      replyJson(res, 200, { ...report, admissionQueues });
    });
  });

  app.get('/connections/:id', (res, req) => {
    if (!guard(res, req)) return;
    const snapshot = connectionSnapshot(ctx, observer.history, req.getParameter(0) ?? '');
    if (snapshot) replyJson(res, 200, snapshot);
    else
      replyJson(
        res,
        404,
        errorBody(
          { error: 'NOT_FOUND', message: 'no connection or session with that ID in this gateway process' },
          requestCorrelationId(req),
        ),
      );
  });

  /**
   * Run an async handler; an unexpected failure becomes a 500 (and a log line with the
   * correlation ID the body names), not a hung request.
   */
  function answer(res: HttpResponse, correlationId: string, handler: () => Promise<void>): void {
    handler().catch((error) => {
      ctx.logger.error({ err: error, correlationId }, 'admin route failed');
      replyJson(res, 500, errorBody({ error: 'INTERNAL', message: (error as Error).message }, correlationId));
    });
  }
}
