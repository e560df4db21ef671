/**
 * `GET /channels/:channel/history?limit=&since=&epoch=&reverse=` for backends (a
 * PUBLISH_API_KEYS key): a page of the channel's log, the same page a socket's
 * `history` frame gets (src/core/history.ts), events spliced in byte for byte — so
 * the body is written as text, never parsed and written again. Unknown or invalid
 * parameters are a 400 naming the parameter and what is allowed.
 */
import type { GatewayCore } from '../core/gateway-core.ts';
import { HISTORY_PAGE_BYTES, type HistoryRequest, historyPageText, historyQuery } from '../core/history.ts';
import type { HistoryPage } from '../core/ports/event-store.ts';
import { type HttpRequest, type HttpResponse, reply, replyJson, trackAbort } from '../edge/uws.ts';
import { errorBody, type HttpRequestInfo, recordHttpRequest } from '../observability/http-tracing.ts';
import { CHANNEL_PATTERN, EPOCH_PATTERN, isEventId, MAX_HISTORY_LIMIT } from '../shared/frames.ts';
import { booleanParam, integerParam, parseQuery, textParam } from './query-params.ts';
import { storeUnavailable, unavailableAnswer } from './store-unavailable.ts';

const HISTORY_PARAMS = {
  limit: integerParam(1, MAX_HISTORY_LIMIT),
  since: textParam('an event ID (<ms>-<seq>, each part at most 2^64 − 1)', isEventId),
  epoch: textParam('an epoch as welcome/subscribed/history give it (1–32 of A–Z a–z 0–9 _ -)', EPOCH_PATTERN),
  reverse: booleanParam,
};
const CHANNEL = new RegExp(CHANNEL_PATTERN);

/** The request's parameters, or why they are refused. */
export function historyParams(
  channelParameter: string,
  query: string,
): { channel: string; request: HistoryRequest } | { problem: string } {
  let channel: string;
  try {
    channel = decodeURIComponent(channelParameter);
  } catch {
    return { problem: 'channel: not a valid percent-encoded path segment' };
  }
  if (!CHANNEL.test(channel))
    return {
      problem: `channel: must be 1–128 of A–Z a–z 0–9 _ . : - (got ${JSON.stringify(channel.slice(0, 130))})`,
    };
  const parsed = parseQuery(query, HISTORY_PARAMS);
  return 'problem' in parsed ? parsed : { channel, request: parsed.values };
}

/** Serve one request whose API key was accepted; `info` is what was read from `req` synchronously. */
export function serveHistory(
  core: GatewayCore,
  res: HttpResponse,
  req: HttpRequest,
  info: HttpRequestInfo,
): void {
  trackAbort(res);
  const parsed = historyParams(req.getParameter(0) ?? '', req.getQuery() ?? '');
  const fail = (status: number, body: object, headers?: Record<string, string>) => {
    recordHttpRequest(core.logger, info, status, res);
    replyJson(res, status, errorBody(body, info.correlationId), headers);
  };
  if ('problem' in parsed) {
    fail(400, { error: 'MALFORMED_MESSAGE', message: parsed.problem });
    return;
  }
  const { channel, request } = parsed;
  if (!core.ports.readiness.isReady()) {
    const down = storeUnavailable();
    fail(down.status, down.body, down.headers);
    return;
  }
  core.ports.events.history(channel, historyQuery(request, HISTORY_PAGE_BYTES)).then(
    (page: HistoryPage) => {
      recordHttpRequest(core.logger, info, 200, res);
      reply(res, 200, historyPageText(channel, page, { channel }));
    },
    (error: unknown) => {
      core.logger.warn({ err: error, channel, correlationId: info.correlationId }, 'history: read failed');
      // Said as it was: a read Redis refused (an OOM) is not one it left unanswered.
      const down = unavailableAnswer(error, core.ports.readiness) ?? storeUnavailable();
      fail(down.status, down.body, down.headers);
    },
  );
}
