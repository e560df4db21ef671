/**
 * Every uWebSockets.js call Tether makes goes through this module, so the rules of
 * the edge live in one place and a uWS upgrade touches one file:
 * - a WebSocket or HttpResponse MUST NOT be used after close/abort;
 * - an async HTTP reply MUST be corked and MUST check `aborted` after every await;
 * - `send()` returns 1 sent, 0 buffered (backpressure), 2 dropped — see `sendText`.
 */
import uWS from 'uWebSockets.js';
import { normalizeAddress } from '../limits/client-address.ts';

export type App = uWS.TemplatedApp;
export type Socket<T> = uWS.WebSocket<T>;
export type HttpResponse = uWS.HttpResponse;
export type HttpRequest = uWS.HttpRequest;
export type ListenSocket = uWS.us_listen_socket;
export type WebSocketBehavior<T> = uWS.WebSocketBehavior<T>;

export const createApp = (): App => uWS.App();

export const SEND_SENT = 1;
export const SEND_BUFFERED = 0;
export const SEND_DROPPED = 2;

export type SendResult = 'sent' | 'buffered' | 'dropped';

/** Send a text frame; the result is the backpressure signal. */
export function sendText<T>(ws: Socket<T>, text: string): SendResult {
  const status = ws.send(text, false, false);
  return status === SEND_SENT ? 'sent' : status === SEND_BUFFERED ? 'buffered' : 'dropped';
}

/**
 * What the edge closed a socket for on its own, when it is a rule of the protocol:
 * uWS cuts such a socket without a close frame (the client sees 1006) and names
 * the reason in the message its close handler gets.
 */
export function edgeCloseReason(message: ArrayBuffer): 'INVALID_UTF8' | 'MESSAGE_TOO_LARGE' | undefined {
  const text = Buffer.from(message).toString();
  if (text === 'Received invalid UTF-8') return 'INVALID_UTF8';
  if (text.startsWith('Received too big message')) return 'MESSAGE_TOO_LARGE';
  return undefined;
}

/**
 * When uWS's automatic heartbeat acts for a given `idleTimeout` (s): it pings a
 * socket silent for `pingAfterMs` and closes it when no pong (or any frame)
 * arrives in the `pongTimeoutMs` after. Measured on this uWS build: 8 s → 4 + 4,
 * 16 s → 8 + 8, 40 s → 24 + 16; the margin is half the timeout, at most 16 s.
 */
export function heartbeatTiming(idleTimeoutS: number): { pingAfterMs: number; pongTimeoutMs: number } {
  const marginS = Math.min(idleTimeoutS / 2, 16);
  return { pingAfterMs: (idleTimeoutS - marginS) * 1000, pongTimeoutMs: marginS * 1000 };
}

export function listen(app: App, host: string, port: number): Promise<ListenSocket> {
  return new Promise((resolve, reject) => {
    // Default options share the port between processes (SO_REUSEPORT).
    app.listen(host, port, (socket) =>
      socket ? resolve(socket) : reject(new Error(`cannot listen on ${host}:${port}`)),
    );
  });
}

export function listeningPort(socket: ListenSocket): number {
  return uWS.us_socket_local_port(socket);
}

export function closeListenSocket(socket: ListenSocket): void {
  uWS.us_listen_socket_close(socket);
}

/** The peer's address in canonical text (normalizeAddress), as the rate limits key it. */
export function remoteAddress<T>(ws: Socket<T>): string {
  const text = Buffer.from(ws.getRemoteAddressAsText()).toString();
  return normalizeAddress(text) ?? text;
}

/** The peer's address in canonical text (uWS writes IPv4 peers of a `::` socket as mapped IPv6). */
export function httpRemoteAddress(res: HttpResponse): string {
  const text = Buffer.from(res.getRemoteAddressAsText()).toString();
  return normalizeAddress(text) ?? text;
}

/** Mark a response aborted when the client goes away; check `res.aborted` after awaits. */
export function trackAbort(res: HttpResponse): HttpResponse {
  res.aborted = false;
  res.onAborted(() => {
    res.aborted = true;
  });
  return res;
}

/** Write a complete reply, corked, unless the client went away. */
export function reply(
  res: HttpResponse,
  status: number,
  body: string,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): void {
  if (res.aborted) return;
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
    res.writeHeader('content-type', contentType);
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(body);
  });
}

export function replyJson(
  res: HttpResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
): void {
  reply(res, status, JSON.stringify(value), 'application/json', headers);
}

/** Read a request body up to `limit` bytes; rejects when larger or aborted. */
export function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > limit) {
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // chunk is neutered after return: copy
      if (isLast) resolve(Buffer.concat(chunks));
    });
    res.onAborted(() => {
      res.aborted = true;
      reject(new Error('request aborted'));
    });
  });
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
