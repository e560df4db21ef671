/**
 * What every backend route of the control and presence APIs does first: check the
 * credential — a backend key (PUBLISH_API_KEYS) or the admin key (ADMIN_API_KEY) —
 * copy what it needs from the request while it is valid, and answer errors the one
 * way (`{ error, message, correlationId }`). A refusal answers 401 and leaves an
 * audit line (who, what, why), never the presented value.
 */
import type { ValidateFunction } from 'ajv';
import type { StoreReadiness } from '../core/ports/store-readiness.ts';
import {
  BodyNotUtf8Error,
  type HttpRequest,
  type HttpResponse,
  httpRemoteAddress,
  readTextBody,
  replyJson,
  trackAbort,
} from '../edge/uws.ts';
import type { ApiKeys } from '../http/api-keys.ts';
import { parseQuery, type QueryParam, type QueryValues } from '../http/query-params.ts';
import { NOT_ANSWERING, storeUnavailable, unavailableAnswer } from '../http/store-unavailable.ts';
import { errorBody, requestCorrelationId } from '../observability/http-tracing.ts';
import type { Logger } from '../observability/logger.ts';
import { firstProblem } from '../shared/ajv.ts';

export type Credential = 'backend' | 'admin';

export interface BackendRequest {
  method: string;
  route: string;
  ip: string;
  correlationId: string;
  credential: Credential;
  /** Route parameters, URL-decoded; undefined where one does not decode. */
  params: (string | undefined)[];
  /** The query string, without its `?`: read with `queryOf`. */
  query: string;
}

export interface BackendKeys {
  backend: ApiKeys;
  admin: ApiKeys;
}

/** A coded failure of a backend route: its HTTP status and the body's `error` code. */
export class RouteError extends Error {
  override name = 'RouteError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request, checked and copied, or undefined when it was refused (already answered):
 * its first `paramCount` route parameters (decoded) and its query string.
 */
export function acceptBackend(
  res: HttpResponse,
  req: HttpRequest,
  keys: BackendKeys,
  logger: Logger,
  paramCount: number,
): BackendRequest | undefined {
  trackAbort(res);
  const method = req.getMethod().toUpperCase();
  const route = req.getUrl();
  const ip = httpRemoteAddress(res);
  const correlationId = requestCorrelationId(req);
  const credential: Credential | undefined = keys.backend.allows(req)
    ? 'backend'
    : keys.admin.allows(req)
      ? 'admin'
      : undefined;
  if (!credential) {
    const reason = req.getHeader('authorization') || req.getHeader('x-api-key') ? 'wrong' : 'missing';
    logger.warn(
      { audit: 'control.denied', method, route, ip, reason, correlationId },
      'backend request denied',
    );
    res.onData(() => {}); // the body is not read; uWS needs it consumed all the same
    replyJson(
      res,
      401,
      errorBody(
        {
          error: 'UNAUTHORIZED',
          message: `${method} ${route} needs authorization: Bearer <API key> (a PUBLISH_API_KEYS key or ADMIN_API_KEY)`,
        },
        correlationId,
      ),
      { 'www-authenticate': 'Bearer realm="tether-backend"' },
    );
    return undefined;
  }
  const params = Array.from({ length: paramCount }, (_, i) => decoded(req.getParameter(i) ?? ''));
  return { method, route, ip, correlationId, credential, params, query: req.getQuery() ?? '' };
}

/**
 * Run `handler` and answer: a RouteError with its status, the store not serving the request
 * (stalled under it, a cluster node down or failing over, a slot moving: `readiness` tells)
 * with 503 (src/http/store-unavailable.ts), anything else with 500 (and logged).
 * A client that went away (mid-body, say) is not answered and is no error of ours.
 */
export function answer(
  res: HttpResponse,
  request: BackendRequest,
  { logger, readiness }: { logger: Logger; readiness: StoreReadiness },
  handler: () => Promise<{ status?: number; body: object }>,
): void {
  handler().then(
    ({ status = 200, body }) => replyJson(res, status, body),
    (error: unknown) => {
      if (res.aborted) {
        logger.info(
          { correlationId: request.correlationId, route: request.route },
          'backend request aborted',
        );
        return;
      }
      const coded =
        error instanceof RouteError
          ? error.code === 'STORE_UNAVAILABLE'
            ? storeUnavailable(error.message)
            : { status: error.status, body: { error: error.code, message: error.message }, headers: {} }
          : unavailableAnswer(error, readiness);
      if (coded) {
        replyJson(res, coded.status, errorBody(coded.body, request.correlationId), coded.headers);
        return;
      }
      logger.error(
        { err: error, correlationId: request.correlationId, route: request.route },
        'backend route failed',
      );
      replyJson(
        res,
        500,
        errorBody({ error: 'INTERNAL', message: (error as Error).message }, request.correlationId),
      );
    },
  );
}

/** The request's JSON body (empty: `{}`), validated by `validate`, or a 400/413 RouteError (400: not UTF-8 too). */
export async function jsonBody<T>(
  res: HttpResponse,
  limit: number,
  validate: ValidateFunction<T>,
): Promise<T> {
  let text: string;
  try {
    text = await readTextBody(res, limit);
  } catch (error) {
    if (error instanceof BodyNotUtf8Error) throw new RouteError(400, 'MALFORMED_MESSAGE', error.message);
    if (res.aborted) throw error;
    throw new RouteError(413, 'MESSAGE_TOO_LARGE', `request body over ${limit} bytes`);
  }
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new RouteError(400, 'MALFORMED_MESSAGE', 'the body is not valid JSON');
  }
  if (!validate(value)) {
    const problem = firstProblem(validate.errors);
    throw new RouteError(400, 'MALFORMED_MESSAGE', `${problem.where} ${problem.message}`);
  }
  return value;
}

/** The query's values by `params` (src/http/query-params.ts), else a 400 naming the parameter. */
export function queryOf<P extends Record<string, QueryParam<unknown>>>(
  request: BackendRequest,
  params: P,
): QueryValues<P> {
  const parsed = parseQuery(request.query, params);
  if ('problem' in parsed) throw new RouteError(400, 'MALFORMED_MESSAGE', parsed.problem);
  return parsed.values;
}

/** Redis found not answering: a 503 before the route does anything (answer() writes it). */
export function requireStore(readiness: StoreReadiness): void {
  if (!readiness.isReady()) throw new RouteError(503, 'STORE_UNAVAILABLE', NOT_ANSWERING);
}

/** A route parameter that must be present and match `rule`, else a 400 naming it. */
export function param(
  request: BackendRequest,
  index: number,
  name: string,
  rule: (value: string) => boolean,
): string {
  const value = request.params[index];
  if (value === undefined || !rule(value))
    throw new RouteError(400, 'MALFORMED_MESSAGE', `${name}: not a valid ${name}`);
  return value;
}

function decoded(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
