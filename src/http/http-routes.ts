/**
 * HTTP on the same uWS app and port: health, backend publish, dev tokens.
 * Backend routes need a credential. Metrics, stats and admin: admin-routes.ts.
 *
 * `/livez` and `/readyz` answer any origin (`access-control-allow-origin: *`):
 * the client SDK's `diagnose()` fetches `/readyz` from pages served elsewhere,
 * and they say nothing a load balancer would not.
 */
import { Type as T } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { devTokenClaims } from '../auth/dev-token-claims.ts';
import {
  BodyTooLargeError,
  type HttpResponse,
  httpRemoteAddress,
  readBody,
  replyJson,
  trackAbort,
} from '../edge/uws.ts';
import type { GatewayContext } from '../gateway/context.ts';
import { clientAddress } from '../limits/client-address.ts';
import { isRedisResponding } from '../observability/gateway-metrics.ts';
import {
  type Answer,
  errorBody,
  recordHttpRequest,
  requestCorrelationId,
  traceHeaders,
  traceHttp,
} from '../observability/http-tracing.ts';
import { sampledTraceparent } from '../observability/trace-context.ts';
import { CHANNEL_PATTERN, INBOX_PREFIX } from '../shared/frames.ts';
import type { ApiKeys } from './api-keys.ts';

const PublishBody = T.Object(
  { channel: T.String({ pattern: CHANNEL_PATTERN }), data: T.Unknown() },
  { additionalProperties: false },
);
const validatePublish = new Ajv().compile<{ channel: string; data: unknown }>(PublishBody);

export interface HttpRouteOptions {
  publishKeys: ApiKeys;
  isDraining(): boolean;
}

/** Public health answers may be read by pages of any origin. */
const ANY_ORIGIN = { 'access-control-allow-origin': '*' };

export function mountHttpRoutes(ctx: GatewayContext, options: HttpRouteOptions): void {
  const { app } = ctx;

  app.get('/livez', (res) => replyJson(res, 200, { status: 'ok' }, ANY_ORIGIN));

  app.get('/readyz', (res) => {
    const redis = isRedisResponding(ctx); // connected and answering PINGs in time
    const draining = options.isDraining();
    const ready = redis && !draining;
    replyJson(res, ready ? 200 : 503, { ready, redis, draining }, ANY_ORIGIN);
  });

  app.post('/publish', (res, req) => {
    trackAbort(res);
    // Everything from req now: it is only valid during this call.
    const peerAddress = httpRemoteAddress(res);
    const request = {
      method: 'POST',
      route: '/publish',
      correlationId: requestCorrelationId(req),
      ip: clientAddress(peerAddress, req.getHeader('x-forwarded-for'), ctx.trustedProxies),
      peerAddress,
    };
    if (!options.publishKeys.allows(req)) {
      // No span: an unauthenticated caller does not get to start (or sample) traces.
      res.onData(() => {}); // the body is not read; uWS needs it consumed all the same
      recordHttpRequest(ctx.logger, request, 401);
      replyJson(
        res,
        401,
        errorBody(
          { error: 'UNAUTHORIZED', message: 'POST /publish needs authorization: Bearer <API key>' },
          request.correlationId,
        ),
        { 'www-authenticate': 'Bearer realm="tether-publish"' },
      );
      return;
    }
    const headers = traceHeaders(req);
    void traceHttp(res, ctx.logger, { ...request, headers }, (answer) =>
      publish(ctx, res, request.correlationId, answer),
    );
  });

  if (ctx.verifier.mint) {
    const mint = ctx.verifier.mint;
    app.get('/dev/token', (res, req) => {
      trackAbort(res);
      const claims = devTokenClaims((name) => req.getQuery(name));
      mint(claims).then((token) => replyJson(res, 200, { token, claims, devMode: true }));
    });
  }

  app.any('/*', (res, req) =>
    replyJson(res, 404, errorBody({ error: 'NOT_FOUND' }, requestCorrelationId(req))),
  );
}

async function publish(
  ctx: GatewayContext,
  res: HttpResponse,
  correlationId: string,
  answer: Answer,
): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(res, ctx.config.maxMessageBytes)).toString('utf8'));
  } catch (error) {
    const tooLarge = error instanceof BodyTooLargeError;
    answer(tooLarge ? 413 : 400, {
      error: tooLarge ? 'MESSAGE_TOO_LARGE' : 'MALFORMED_MESSAGE',
      message: (error as Error).message,
    });
    return;
  }
  if (!validatePublish(body)) {
    const first = validatePublish.errors?.[0];
    answer(400, {
      error: 'MALFORMED_MESSAGE',
      message: `${first?.instancePath || '/'} ${first?.message}`,
    });
    return;
  }
  if (body.channel.startsWith(INBOX_PREFIX)) {
    answer(403, { error: 'PUBLISH_FORBIDDEN', message: 'inbox channels carry action replies only' });
    return;
  }
  if (!isRedisResponding(ctx)) {
    answer(503, { error: 'STORE_UNAVAILABLE', retryAfterMs: 1000 }, { 'retry-after': '1' });
    return;
  }
  try {
    const data = JSON.stringify(body.data ?? null);
    const event = await ctx.events.append(body.channel, data, correlationId, sampledTraceparent());
    answer(200, { channel: body.channel, id: event.id, correlationId });
  } catch (error) {
    ctx.logger.warn({ err: error, correlationId }, 'POST /publish: append failed');
    answer(503, { error: 'STORE_UNAVAILABLE', retryAfterMs: 1000 }, { 'retry-after': '1' });
  }
}
