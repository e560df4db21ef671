/**
 * The fallback transport's routes (docs/protocol.md §1.1): `GET /sse` opens an
 * event stream — a connection, with its actor, as a WebSocket upgrade makes one — and
 * `POST /sse/frames` carries the client's frames to the stream its `tether-connection`
 * header names, one frame per line, handled in order by the same frame router — passed on
 * over the control bus when it reached another process than the stream's. Everything
 * after that (hello, admission, resume, limits, error codes) is the core's, unchanged.
 */
import { onMessage } from '../../core/frame-router.ts';
import type { GatewayCore } from '../../core/gateway-core.ts';
import { storeUnavailable } from '../../http/store-unavailable.ts';
import { AllowedOrigins } from '../../limits/allowed-origins.ts';
import type { TrustedProxies } from '../../limits/client-address.ts';
import { type ErrorCode, errorSpec } from '../../shared/errors.ts';
import type { App, HttpResponse } from '../edge-port.ts';
import { type ActorFactory, connectionFor, startConnection } from '../open-connection.ts';
import { BodyTooLargeError, httpRemoteAddress, readBody, reply, replyJson } from '../uws.ts';
import { arrayBufferOf } from '../ws-edge/http-adapters.ts';
import { admitOrigin, corsHeaders, mountPreflight } from './sse-cors.ts';
import { parseSeq } from './sse-inbound.ts';
import { postBodyLimit } from './sse-messages.ts';
import type { SseSocket } from './sse-socket.ts';
import type { SseStreams } from './sse-streams.ts';

export const SSE_PATH = '/sse';
export const SSE_FRAMES_PATH = '/sse/frames';
/** The header a POST names its stream by: the token of the stream's `open` event. */
export const SSE_CONNECTION_HEADER = 'tether-connection';
/** The POST's number on its stream (1, 2, …): POSTs are handled in this order (sse-inbound.ts). */
export const SSE_SEQ_HEADER = 'tether-seq';

const NEWLINE = 0x0a;

const RELAY_UNANSWERED =
  "the stream's process did not answer through Redis in time: the frames may have reached it";

/** A POST for a stream of another process, passed on to it (over the control bus). */
export interface RelayedFrames {
  token: string;
  seq?: number;
  /** The POST's body, base64 (its bytes as sent, valid UTF-8 or not). */
  body: string;
  /** Refused for its size (413): the stream closes with MESSAGE_TOO_LARGE, as on its own process. */
  tooLarge?: true;
}

/** What became of a POST at its stream's process: see `Handled`; `unknown`: no such stream there. */
export type Delivered = Handled | 'unknown';

/**
 * Pass frames on to `nodeId`: what that process did with them (`Delivered`), or `no answer`
 * when it did not say (it may be gone, or Redis slow).
 */
export type Relay = (nodeId: string, frames: RelayedFrames) => Promise<Delivered | 'no answer'>;

export interface SseEndpoint {
  /** Frames another process received for a stream of this one. */
  relayed(frames: RelayedFrames): Delivered;
}

/**
 * `held`: the stream took the POST (its frames are handled now, or once the POSTs numbered
 * before it came); `refused`: a POST before it is missing, and the stream closed with
 * SSE_POST_MISSING (sse-inbound.ts).
 */
type Handled = 'held' | 'refused';

export function mountSse(
  app: App,
  core: GatewayCore,
  createActor: ActorFactory,
  trustedProxies: TrustedProxies,
  streams: SseStreams,
  relay: Relay,
): SseEndpoint {
  const { logger } = core;
  const origins = new AllowedOrigins(core.config.allowedOrigins);
  mountPreflight(app, [SSE_PATH, SSE_FRAMES_PATH], origins);
  app.get(SSE_PATH, (res, req) => {
    // The same pages may open a stream as a WebSocket (ALLOWED_ORIGINS, src/limits/allowed-origins.ts).
    const origin = req.getHeader('origin');
    if (!admitOrigin(res, origin, origins)) return;
    if (res.headOnly) {
      reply(res, 200, '', 'text/event-stream', corsHeaders(origin)); // HEAD opens no stream
      return;
    }
    let socket: SseSocket | undefined;
    // A throw out of a uWS handler aborts the whole process: answer this request instead.
    try {
      // Headers MUST be copied synchronously: req is stack-allocated.
      const conn = connectionFor(core, 'sse', req, httpRemoteAddress(res), trustedProxies);
      socket = streams.open(res, conn, {
        lastEventId: req.getHeader('last-event-id'),
        acceptEncoding: req.getHeader('accept-encoding'),
        headers: corsHeaders(origin),
      });
      startConnection(core, createActor, conn, socket);
    } catch (error) {
      logger.error({ err: error }, 'sse stream failed to open');
      if (socket) cutQuietly(socket);
      else replyJson(res, 500, codedBody('INTERNAL'), corsHeaders(origin));
    }
  });

  const handle = (socket: SseSocket, seq: number | undefined, body: Buffer): Handled => {
    const bodies = socket.inbound.accept(seq, body);
    if (!Array.isArray(bodies)) {
      socket.postMissing(bodies);
      return 'refused';
    }
    socket.lastHeardAt = Date.now();
    for (const line of bodies.flatMap((b) => [...lines(b)])) {
      if (!socket.isOpen) break;
      const text = line.toString('utf8');
      const frame = streams.withLastEventIds(socket, text);
      const merged = frame === text ? line : Buffer.from(frame);
      onMessage(core, socket.conn, arrayBufferOf(merged), false, line.byteLength);
    }
    return 'held';
  };
  const answer = (res: HttpResponse, handled: Handled, cors: Record<string, string>): void => {
    if (handled === 'held') reply(res, 204, '', 'text/plain', cors);
    else replyJson(res, 409, codedBody('SSE_POST_MISSING'), cors);
  };

  const bodyLimit = postBodyLimit(core.config.maxMessageBytes);
  // Closed with 1009 and a coded frame, as a frame over the limit closes a WebSocket.
  const tooLarge = (socket: SseSocket) =>
    socket.conn.fail('MESSAGE_TOO_LARGE', { detail: `a POST over ${bodyLimit} bytes` });
  app.post(SSE_FRAMES_PATH, (res, req) => {
    const origin = req.getHeader('origin');
    if (!admitOrigin(res, origin, origins)) return;
    const cors = corsHeaders(origin);
    const token = req.getHeader(SSE_CONNECTION_HEADER);
    const seqHeader = req.getHeader(SSE_SEQ_HEADER);
    const seq = parseSeq(seqHeader);
    if (seq === undefined && seqHeader !== '') {
      // Taken as absent, it would be handled out of the order the client numbered.
      const message = `${SSE_SEQ_HEADER} must be a positive integer (1, 2, …), got "${seqHeader.slice(0, 32)}"`;
      replyJson(res, 400, { error: 'MALFORMED_MESSAGE', message }, cors);
      return;
    }
    readBody(res, bodyLimit).then(
      async (body) => {
        const socket = streams.find(token);
        if (socket) {
          answer(res, handle(socket, seq, body), cors);
          return;
        }
        const owner = streams.elsewhere(token);
        const relayed = owner
          ? await relay(owner, { token, seq, body: body.toString('base64') }).catch(
              () => 'no answer' as const,
            )
          : 'unknown';
        if (relayed === 'held' || relayed === 'refused') answer(res, relayed, cors);
        else if (relayed === 'no answer') {
          const down = storeUnavailable(RELAY_UNANSWERED); // the answer every HTTP route gives
          replyJson(res, down.status, down.body, { ...down.headers, ...cors });
        } else replyJson(res, 404, codedBody('SSE_CONNECTION_UNKNOWN'), cors);
      },
      (error: unknown) => {
        if (!(error instanceof BodyTooLargeError)) return; // the client went away
        replyJson(res, 413, { error: 'MESSAGE_TOO_LARGE', message: error.message }, cors);
        const socket = streams.find(token);
        if (socket) tooLarge(socket);
        else {
          const owner = streams.elsewhere(token);
          if (owner) void relay(owner, { token, seq, body: '', tooLarge: true }).catch(() => {});
        }
      },
    );
  });

  return {
    relayed(frames) {
      const socket = streams.find(frames.token);
      if (!socket) return 'unknown';
      if (!frames.tooLarge) return handle(socket, frames.seq, Buffer.from(frames.body, 'base64'));
      tooLarge(socket);
      return 'held';
    },
  };
}

/** A refusal's JSON body, as every HTTP route answers one. */
const codedBody = (code: ErrorCode) => ({ error: code, message: errorSpec(code).message });

/** Cut a stream whose connection never started (its close handler may find no actor to tell). */
function cutQuietly(socket: SseSocket): void {
  try {
    socket.close();
  } catch {
    // the stream is cut either way
  }
}

/** The body's lines, without empty ones (a trailing newline is allowed). */
function* lines(body: Buffer): Generator<Buffer> {
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    if (end > start) yield body.subarray(start, end);
    start = end + 1;
  }
}
