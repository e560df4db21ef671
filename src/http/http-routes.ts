/**
 * HTTP on the same edge and port: health, backend publish and history, dev tokens.
 * Backend routes need a credential. Metrics, stats and admin: src/admin/admin-routes.ts.
 *
 * `/livez` and `/readyz` answer any origin (`access-control-allow-origin: *`):
 * the client SDK's `diagnose()` fetches `/readyz` from pages served elsewhere,
 * and they say nothing a load balancer would not.
 */
import { Type as T } from '@sinclair/typebox';
import { DevTokenRefusal, devTokenClaims } from '../auth/dev-token-claims.ts';
import type { DevTokenClaims, JwtVerifier } from '../auth/token-verifier.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import { publishEvent } from '../core/publish.ts';
import { TetherError } from '../core/tether-error.ts';
import {
  type App,
  allowedMethods,
  BodyTooLargeError,
  type HttpRequest,
  type HttpResponse,
  httpRemoteAddress,
  isWebSocketPath,
  readTextBody,
  replyJson,
  trackAbort,
} from '../edge/uws.ts';
import { upgradeRequired } from '../edge/ws-endpoint.ts';
import { forwardedClient, type TrustedProxies } from '../limits/client-address.ts';
import {
  type Answer,
  errorBody,
  type HttpRequestInfo,
  recordHttpRequest,
  requestCorrelationId,
  traceHeaders,
  traceHttp,
} from '../observability/http-tracing.ts';
import { dataJsonOf } from '../protocol/frame-codec.ts';
import { compiledOnUse, firstProblem, schemaAjv } from '../shared/ajv.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { CHANNEL_PATTERN, IDEMPOTENCY_KEY_PATTERN } from '../shared/frames.ts';
import type { ApiKeys } from './api-keys.ts';
import { serveHistory } from './history-route.ts';
import { parseQuery, textParam } from './query-params.ts';
import { storeUnavailable } from './store-unavailable.ts';

const PublishBody = T.Object(
  {
    channel: T.String({ pattern: CHANNEL_PATTERN }),
    data: T.Unknown(),
    idempotencyKey: T.Optional(T.String({ pattern: IDEMPOTENCY_KEY_PATTERN })),
  },
  { additionalProperties: false },
);
const validatePublish = compiledOnUse(() =>
  schemaAjv().compile<{ channel: string; data: unknown; idempotencyKey?: string }>(PublishBody),
);
const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** GET /dev/token's parameters: any text here, devTokenClaims says what each may be. */
const anyText = textParam('text', () => true);
const DEV_TOKEN_PARAMS = {
  sub: anyText,
  channels: anyText,
  publish: anyText,
  actions: anyText,
  tier: anyText,
};

export interface HttpRouteOptions {
  publishKeys: ApiKeys;
  trustedProxies: TrustedProxies;
  /** Mints development tokens (GET /dev/token) when it can. */
  verifier: JwtVerifier;
  isDraining(): boolean;
}

/** Public health answers may be read by pages of any origin. */
const ANY_ORIGIN = { 'access-control-allow-origin': '*' };

export function mountHttpRoutes(app: App, core: GatewayCore, options: HttpRouteOptions): void {
  const { logger } = core;

  app.get('/livez', (res) => replyJson(res, 200, { status: 'ok' }, ANY_ORIGIN));

  app.get('/readyz', (res) => {
    const redis = core.ports.readiness.isReady(); // connected and answering PINGs in time
    const draining = options.isDraining();
    const ready = redis && !draining;
    replyJson(res, ready ? 200 : 503, { ready, redis, draining }, ANY_ORIGIN);
  });

  app.post('/publish', (res, req) => {
    trackAbort(res);
    // Everything from req now: it is only valid during this call.
    const request = requestInfo(res, req, 'POST', '/publish', options);
    if (!options.publishKeys.allows(req)) {
      res.onData(() => {}); // the body is not read; uWS needs it consumed all the same
      unauthorized(core, res, request, 'POST /publish');
      return;
    }
    const headers = traceHeaders(req);
    const idempotencyKey = req.getHeader('idempotency-key') || undefined;
    void traceHttp(res, logger, { ...request, headers }, (answer) =>
      publish(core, res, request.correlationId, answer, idempotencyKey),
    );
  });

  app.get('/channels/:channel/history', (res, req) => {
    const request = requestInfo(res, req, 'GET', '/channels/:channel/history', options);
    if (!options.publishKeys.allows(req)) unauthorized(core, res, request, 'GET /channels/:channel/history');
    else serveHistory(core, res, req, request);
  });

  if (options.verifier.mint) {
    const mint = options.verifier.mint;
    app.get('/dev/token', (res, req) => {
      trackAbort(res);
      let claims: DevTokenClaims;
      try {
        // The strict reader, not uWS's getQuery: a typo or a repeat must not mint another token.
        const query = parseQuery(req.getQuery() ?? '', DEV_TOKEN_PARAMS);
        if ('problem' in query) throw new DevTokenRefusal(query.problem);
        claims = devTokenClaims((name) => query.values[name as keyof typeof DEV_TOKEN_PARAMS]);
      } catch (error) {
        if (!(error instanceof DevTokenRefusal)) throw error;
        const body = { error: 'MALFORMED_MESSAGE', message: error.message };
        replyJson(res, 400, errorBody(body, requestCorrelationId(req)));
        return;
      }
      mint(claims).then((token) => replyJson(res, 200, { token, claims, devMode: true }));
    });
  }

  // What no route took: a path some route serves with another method is a 405 naming them.
  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const correlationId = requestCorrelationId(req);
    if (isWebSocketPath(app, path)) {
      webSocketWithoutUpgrade(res, method, path, correlationId);
      return;
    }
    const allowed = allowedMethods(app, path);
    if (allowed.length === 0) {
      replyJson(
        res,
        404,
        errorBody({ error: 'NOT_FOUND', message: `no route ${method} ${path}` }, correlationId),
      );
      return;
    }
    const message = `${method} is not allowed on ${path}: ${allowed.join(', ')}`;
    replyJson(res, 405, errorBody({ error: 'METHOD_NOT_ALLOWED', message }, correlationId), {
      allow: allowed.join(', '),
    });
  });
}

/**
 * A request for the WebSocket endpoint that the edge did not take as an upgrade: no
 * `Upgrade: websocket` (a proxy that strips it, a plain GET), or, on uWS, a `Sec-WebSocket-Key`
 * that is not 24 characters. 426 (RFC 9110 §15.5.22) says what is missing, where a 404 said
 * there was no such route; another method is 405. Not an error code of the registry: the SDK
 * takes the refusal as the network error it is to a browser, and falls back to SSE.
 */
function webSocketWithoutUpgrade(
  res: HttpResponse,
  method: string,
  path: string,
  correlationId: string,
): void {
  if (method !== 'GET' && method !== 'HEAD') {
    const message = `${method} is not allowed on ${path}: GET, as a WebSocket upgrade`;
    replyJson(res, 405, errorBody({ error: 'METHOD_NOT_ALLOWED', message }, correlationId), { allow: 'GET' });
    return;
  }
  const message = upgradeRequired(path);
  replyJson(res, 426, errorBody({ error: 'UPGRADE_REQUIRED', message }, correlationId), {
    upgrade: 'websocket',
  });
}

function requestInfo(
  res: HttpResponse,
  req: HttpRequest,
  method: string,
  route: string,
  options: HttpRouteOptions,
): HttpRequestInfo {
  const peerAddress = httpRemoteAddress(res);
  return {
    method,
    route,
    correlationId: requestCorrelationId(req),
    ip: forwardedClient(peerAddress, (name) => req.getHeader(name), options.trustedProxies).ip,
    peerAddress,
  };
}

/** No span: an unauthenticated caller does not get to start (or sample) traces. */
function unauthorized(core: GatewayCore, res: HttpResponse, request: HttpRequestInfo, route: string): void {
  recordHttpRequest(core.logger, request, 401, res);
  replyJson(
    res,
    401,
    errorBody(
      { error: 'UNAUTHORIZED', message: `${route} needs authorization: Bearer <API key>` },
      request.correlationId,
    ),
    { 'www-authenticate': 'Bearer realm="tether-publish"' },
  );
}

/** HTTP status for a publish refused with `code`. */
const PUBLISH_STATUS: Partial<Record<ErrorCode, number>> = { PUBLISH_FORBIDDEN: 403, STORE_UNAVAILABLE: 503 };

async function publish(
  core: GatewayCore,
  res: HttpResponse,
  correlationId: string,
  answer: Answer,
  headerKey: string | undefined,
): Promise<void> {
  let body: unknown;
  let dataJson: string | undefined;
  try {
    const text = await readTextBody(res, core.config.maxMessageBytes); // not UTF-8: 400, like not JSON
    dataJson = dataJsonOf(text); // refuses a body nested past MAX_NESTING_DEPTH before parsing it
    body = JSON.parse(text);
  } catch (error) {
    const tooLarge = error instanceof BodyTooLargeError;
    answer(tooLarge ? 413 : 400, {
      error: tooLarge ? 'MESSAGE_TOO_LARGE' : 'MALFORMED_MESSAGE',
      message: error instanceof TetherError ? error.detail : (error as Error).message,
    });
    return;
  }
  if (!validatePublish(body)) {
    const problem = firstProblem(validatePublish.errors);
    answer(400, { error: 'MALFORMED_MESSAGE', message: `${problem.where} ${problem.message}` });
    return;
  }
  const idempotencyKey = headerKey ?? body.idempotencyKey;
  const keyProblem =
    headerKey === undefined
      ? undefined
      : !IDEMPOTENCY_KEY.test(headerKey)
        ? 'Idempotency-Key: must be 1–128 visible ASCII characters'
        : body.idempotencyKey !== undefined && body.idempotencyKey !== headerKey
          ? "the Idempotency-Key header and the body's idempotencyKey differ"
          : undefined;
  if (keyProblem) {
    answer(400, { error: 'MALFORMED_MESSAGE', message: keyProblem });
    return;
  }
  const result = await publishEvent(core, {
    channel: body.channel,
    dataJson: dataJson ?? 'null',
    correlationId,
    publisher: 'backend',
    idempotencyKey,
  });
  if ('id' in result) {
    answer(200, {
      channel: body.channel,
      id: result.id,
      correlationId,
      ...(result.duplicate ? { duplicate: true } : {}),
      ...(result.ephemeral ? { ephemeral: true } : {}),
    });
    return;
  }
  const status = PUBLISH_STATUS[result.error] ?? 500;
  if (status === 503) {
    const down = storeUnavailable(result.detail); // the detail says when the event may still land
    answer(down.status, down.body, down.headers);
  } else answer(status, { error: result.error, message: result.detail });
}
