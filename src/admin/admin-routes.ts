/**
 * Operations HTTP routes on the gateway's own port (docs/observability.md):
 *
 * - public: `GET /metrics` (Prometheus text), `GET /ws/stats` (counts only);
 * - admin (ADMIN_API_KEY): `GET /health/websocket`, `GET /ws/stats/detailed`,
 *   `GET /ws/stats/rate-limit`, `POST /ws/cleanup[?dryRun=true]` (stale sessions, and
 *   admission queues of processes that are gone), `GET /connections/:id`.
 *
 * Liveness and readiness (`/livez`, `/readyz`) stay with the public routes
 * (src/http/http-routes.ts): a load balancer must reach them without a credential.
 */
import { removeOrphanedAdmissionQueues } from '../admission/admission-queue.ts';
import { type App, type HttpResponse, reply, replyJson, trackAbort } from '../edge/uws.ts';
import { booleanParam, parseQuery } from '../http/query-params.ts';
import { storeUnavailable, unavailableAnswer } from '../http/store-unavailable.ts';
import { errorBody, requestCorrelationId } from '../observability/http-tracing.ts';
import { redisKeys } from '../redis/keys.ts';
import { liveNodeIds } from '../redis/node-presence.ts';
import { removeStaleSessions } from '../session/stale-sessions.ts';
import { adminGuard } from './admin-auth.ts';
import type { AdminSources } from './admin-sources.ts';
import { connectionSnapshot } from './connection-snapshot.ts';
import { websocketHealth } from './health-report.ts';
import { basicStats, detailedStats, rateLimitStats } from './stats-report.ts';

/** A dry run only reports; a value that is not a documented boolean is refused, never taken for false. */
const CLEANUP_PARAMS = { dryRun: booleanParam };

export function mountAdminRoutes(app: App, sources: AdminSources): void {
  const { core } = sources;
  const guard = adminGuard(core.config.adminApiKey, core.logger);

  app.get('/metrics', (res, req) => {
    trackAbort(res);
    answer(res, requestCorrelationId(req), async () => {
      const { contentType, body } = await sources.metrics.render();
      reply(res, 200, body, contentType);
    });
  });

  app.get('/ws/stats', (res) => replyJson(res, 200, basicStats(sources)));

  app.get('/health/websocket', (res, req) => {
    trackAbort(res);
    if (!guard(res, req)) return;
    answer(res, requestCorrelationId(req), async () => {
      const report = await websocketHealth(sources);
      replyJson(res, report.status === 'unhealthy' ? 503 : 200, report);
    });
  });

  app.get('/ws/stats/detailed', (res, req) => {
    if (!guard(res, req)) return;
    replyJson(res, 200, detailedStats(sources));
  });

  app.get('/ws/stats/rate-limit', (res, req) => {
    if (!guard(res, req)) return;
    replyJson(res, 200, rateLimitStats(sources));
  });

  app.post('/ws/cleanup', (res, req) => {
    trackAbort(res);
    if (!guard(res, req)) return;
    const query = parseQuery(req.getQuery() ?? '', CLEANUP_PARAMS);
    const correlationId = requestCorrelationId(req);
    // The request body is not used; uWS needs it consumed (or the request aborted) all the same.
    res.onData(() => {});
    if ('problem' in query) {
      replyJson(res, 400, errorBody({ error: 'MALFORMED_MESSAGE', message: query.problem }, correlationId));
      return;
    }
    const { dryRun = false } = query.values;
    answer(res, correlationId, async () => {
      if (!sources.store.isReady()) {
        const down = storeUnavailable();
        replyJson(res, down.status, errorBody(down.body, correlationId), down.headers);
        return;
      }
      const { redisPrefix, resumeWindowMs } = core.config;
      const { redis } = sources;
      const report = await removeStaleSessions(redis, {
        prefix: redisPrefix,
        resumeWindowMs,
        liveSessionIds: new Set(core.supervisor.liveSessionIds()),
        dryRun,
      });
      const admissionQueues = await removeOrphanedAdmissionQueues(redis, {
        redisPrefix,
        liveNodeIds: () => liveNodeIds(redis, redisKeys(redisPrefix)),
        dryRun,
      });
      core.logger.info(
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
    const snapshot = connectionSnapshot(core, sources.watch.history, req.getParameter(0) ?? '');
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
   * Run an async handler; the store not serving it (stalled, a node down, a slot moving) is answered 503 (src/http/store-unavailable.ts),
   * any other failure 500 (and a log line with the correlation ID the body names), never a hung request.
   */
  function answer(res: HttpResponse, correlationId: string, handler: () => Promise<void>): void {
    handler().catch((error) => {
      const down = unavailableAnswer(error, sources.store);
      if (down) {
        replyJson(res, down.status, errorBody(down.body, correlationId), down.headers);
        return;
      }
      core.logger.error({ err: error, correlationId }, 'admin route failed');
      replyJson(res, 500, errorBody({ error: 'INTERNAL', message: (error as Error).message }, correlationId));
    });
  }
}
