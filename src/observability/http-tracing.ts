/**
 * A SERVER span around an HTTP handler on the uWS app (HTTP auto-instrumentation
 * does not see uWS), continuing the caller's trace from its `traceparent` header,
 * with the response status recorded on the span and in `tether_http_requests_total`.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { type HttpRequest, type HttpResponse, replyJson } from '../edge/uws.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_CORRELATION_ID,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from './span-attributes.ts';
import { extractContext, SpanKind, withCorrelationId, withSpan } from './trace-context.ts';

/** Reply with JSON; the status is recorded on the request's span. */
export type Answer = (status: number, body: unknown, headers?: Record<string, string>) => void;

/** The trace headers of a request; call synchronously in the handler (req dies after it returns). */
export function traceHeaders(req: HttpRequest): Record<string, string> {
  const traceparent = req.getHeader('traceparent');
  if (!traceparent) return {};
  const tracestate = req.getHeader('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

export function traceHttp(
  res: HttpResponse,
  request: { method: string; route: string; headers: Record<string, string>; correlationId: string },
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
      },
    },
    (span) =>
      handler((status, body, headers) => {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        metrics.httpRequests.inc({ route: `${method} ${route}`, status: String(status) });
        replyJson(res, status, body, headers);
      }),
  );
}
