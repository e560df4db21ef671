/**
 * Observability of the gateway's HTTP requests: a SERVER span around a handler on
 * the uWS app (HTTP auto-instrumentation does not see uWS), continuing the
 * caller's trace from its `traceparent` header; and, for every answer — refusals
 * before any span included — one count in `tether_http_requests_total`, one log
 * line, and the request's correlation ID in every error body, so whoever got the
 * error can quote the ID that finds the log line.
 */
import { randomUUID } from 'node:crypto';
import { SpanStatusCode } from '@opentelemetry/api';
import { type HttpRequest, type HttpResponse, replyJson } from '../edge/uws.ts';
import { isCorrelationId } from '../shared/identifiers.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CORRELATION_ID,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
} from './span-attributes.ts';
import { extractContext, SpanKind, withCorrelationId, withSpan } from './trace-context.ts';

/** Reply with JSON; the status is recorded on the request's span. */
export type Answer = (status: number, body: object, headers?: Record<string, string>) => void;

/** The trace headers of a request; call synchronously in the handler (req dies after it returns). */
export function traceHeaders(req: HttpRequest): Record<string, string> {
  const traceparent = req.getHeader('traceparent');
  if (!traceparent) return {};
  const tracestate = req.getHeader('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The caller's `x-correlation-id` when it obeys the hello field's rule (src/shared/identifiers.ts),
 * else a new one: as on the upgrade, a bad one is replaced, not refused (tracing never costs a
 * request; error bodies and `POST /publish`'s answer name the ID used). Call synchronously in the handler.
 */
export function requestCorrelationId(req: HttpRequest): string {
  const given = req.getHeader('x-correlation-id');
  return isCorrelationId(given) ? given : randomUUID();
}

/** An error body that names the request: `{ error, message, …, correlationId }`. */
export function errorBody(body: object, correlationId: string): object {
  return { ...body, correlationId };
}

export interface HttpRequestInfo {
  method: string;
  /** The route pattern (`/publish`), never the raw URL: it is a metric label. */
  route: string;
  correlationId: string;
  /** The client's address (X-Forwarded-For from a trusted proxy, else the peer). */
  ip: string;
  /** The socket's direct peer (a proxy, when there is one). */
  peerAddress: string;
}

/**
 * The status counted for a request whose client went away before its answer (nginx's
 * convention): not the 400 or 200 its handler then decided on and could not send.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * Count and log one answered request: 2xx at debug (a backend may publish a lot),
 * 401/403 at warn (a caller with a wrong key), other 4xx at info, 5xx at warn. A request
 * whose client went away (`res.aborted`) counts as 499 whatever `status` was.
 */
export function recordHttpRequest(
  logger: Logger,
  request: HttpRequestInfo,
  status: number,
  res: { aborted?: boolean },
): void {
  const { method, route, correlationId, ip } = request;
  const name = `${method} ${route}`;
  const counted = res.aborted ? CLIENT_CLOSED_REQUEST : status;
  metrics.httpRequests.inc({ route: name, status: String(counted) });
  const level =
    counted < 400 ? 'debug' : counted === 401 || counted === 403 || counted >= 500 ? 'warn' : 'info';
  const message = res.aborted ? `${name} aborted by the client` : `${name} ${status}`;
  logger[level]({ route: name, status: counted, correlationId, ip }, message);
}

/**
 * Run an authenticated request's handler inside its SERVER span. `answer` replies,
 * records the status on the span, counts and logs it, and adds the correlation ID
 * to error bodies.
 */
export function traceHttp(
  res: HttpResponse,
  logger: Logger,
  request: HttpRequestInfo & { headers: Record<string, string> },
  handler: (answer: Answer) => Promise<void>,
): Promise<void> {
  const { method, route, correlationId } = request;
  return withSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      parent: withCorrelationId(extractContext(request.headers), correlationId),
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_HTTP_ROUTE]: route,
        [ATTR_CORRELATION_ID]: correlationId,
        [ATTR_NETWORK_PEER_ADDRESS]: request.peerAddress,
        [ATTR_CLIENT_ADDRESS]: request.ip,
      },
    },
    (span) =>
      handler((status, body, headers) => {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        recordHttpRequest(logger, request, status, res);
        replyJson(res, status, status >= 400 ? errorBody(body, correlationId) : body, headers);
      }),
  );
}
