/**
 * The credential check in front of admin routes (ADMIN_API_KEY, presented as
 * `authorization: Bearer <key>` or `x-api-key`). A refusal answers 401 and
 * leaves an audit line — who (address), what (method, route) and why (missing,
 * wrong, or admin routes disabled because no key is configured) — and never the
 * presented value. Allowed changes (POST) are audited too.
 */
import { type HttpRequest, type HttpResponse, httpRemoteAddress, replyJson } from '../edge/uws.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { errorBody, requestCorrelationId } from '../observability/http-tracing.ts';
import type { Logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';

export type AdminGuard = (res: HttpResponse, req: HttpRequest) => boolean;

export function adminGuard(key: string | undefined, logger: Logger): AdminGuard {
  const keys = new ApiKeys(key ? [key] : []);
  return (res, req) => {
    // Read everything from req now: it is only valid during this synchronous call.
    const method = req.getMethod().toUpperCase();
    const route = req.getUrl();
    const presented = Boolean(req.getHeader('authorization') || req.getHeader('x-api-key'));
    const allowed = key !== undefined && keys.allows(req);
    const ip = httpRemoteAddress(res);
    const correlationId = requestCorrelationId(req);
    if (allowed) {
      logger[method === 'GET' ? 'debug' : 'info'](
        { audit: 'admin.allowed', method, route, ip },
        'admin request',
      );
      return true;
    }
    const reason = key === undefined ? 'disabled' : presented ? 'wrong' : 'missing';
    metrics.adminDenied.inc({ reason });
    logger.warn({ audit: 'admin.denied', method, route, ip, reason, correlationId }, 'admin request denied');
    replyJson(
      res,
      401,
      errorBody(
        {
          error: 'UNAUTHORIZED',
          message:
            reason === 'disabled'
              ? 'admin routes are disabled: set ADMIN_API_KEY on the gateway'
              : `${method} ${route} needs authorization: Bearer <ADMIN_API_KEY> (or x-api-key)`,
        },
        correlationId,
      ),
      { 'www-authenticate': 'Bearer realm="tether-admin"' },
    );
    return false;
  };
}
