/**
 * The edge as the gateway sees it: the port's types (src/edge/edge-port.ts), the
 * app of the edge chosen at start (src/edge/select-edge.ts), and the helpers that
 * keep the rules of the edge in one place, whichever edge runs:
 * - a WebSocket or HttpResponse MUST NOT be used after close/abort;
 * - an async HTTP reply MUST be corked and MUST check `aborted` after every await;
 * - `send()` returns 1 sent, 0 buffered (backpressure), 2 dropped — see `sendText`.
 */

import { STATUS_CODES } from 'node:http';
import { SEND_BUFFERED, SEND_SENT } from '../core/ports/edge-socket.ts';
import { normalizeAddress } from '../limits/client-address.ts';
import type {
  App,
  Edge,
  EdgeInfo,
  EdgePreference,
  HttpRequest,
  HttpResponse,
  ListenToken,
  WebSocket,
} from './edge-port.ts';
import { LISTEN_EXCLUSIVE, LISTEN_SHARED, PROTOCOL_CUT } from './edge-port.ts';
import { chooseEdge } from './select-edge.ts';
import { Router } from './ws-edge/router.ts';

export type {
  App,
  EdgeInfo,
  EdgePreference,
  HttpRequest,
  HttpResponse,
  WebSocketBehavior,
} from './edge-port.ts';
export { heartbeatTiming } from './heartbeat-timing.ts';
export type Socket<T> = WebSocket<T>;

/** A listening app: which edge it is on and that edge's handle. */
export interface ListenSocket {
  readonly app: App;
  readonly edge: Edge;
  readonly token: ListenToken;
}

const edgeOfApp = new WeakMap<App, Edge>();
/** Each app's routes by method (`allowedMethods`). */
const routesOfApp = new WeakMap<App, Router<true>>();
const running = new Map<string, EdgeInfo>();
/** The method WebSocket routes are kept under in an app's routes (never an HTTP method). */
const WEBSOCKET = 'websocket upgrade';
/** Apps whose listening socket was closed (a drain): their replies close the connection. */
const stoppedListening = new WeakSet<App>();

/** An app on the edge `preference` selects (`auto` unless told); throws EdgeUnavailableError. */
export function createApp(preference: EdgePreference = 'auto'): App {
  const { edge } = chooseEdge(preference);
  const app = edge.createApp();
  edgeOfApp.set(app, edge);
  running.set(`${edge.info.impl} ${edge.info.version}`, edge.info);
  tagResponses(app);
  return app;
}

/**
 * Every HTTP route's response learns its app, so `reply` can tell when the app stopped
 * listening, and whether its request's body is still coming; and every GET route answers
 * HEAD too (RFC 9110 §9.3.2: the same status and headers, no body — `reply` sees
 * `headOnly`), so `curl -I` and load balancers that probe with HEAD get what GET would give.
 */
function tagResponses(app: App): void {
  const head = app.head.bind(app);
  const routes = new Router<true>();
  routesOfApp.set(app, routes);
  const ws = app.ws.bind(app);
  app.ws = (pattern, behavior) => {
    routes.add(WEBSOCKET, pattern, true);
    const { upgrade } = behavior;
    // An upgrade its handler refuses is answered over HTTP and the connection goes on: the
    // same framing check as every route's, or the bytes a proxy took for its body run.
    if (!upgrade) return ws(pattern, behavior);
    return ws(pattern, {
      ...behavior,
      upgrade: (res, req, context) => {
        if (cutAmbiguousFraming(res, req)) return;
        upgrade(res, req, context);
      },
    });
  };
  for (const method of ['get', 'post', 'options', 'any'] as const) {
    const register = app[method].bind(app);
    app[method] = (pattern, handler) => {
      if (method !== 'any') routes.add(method, pattern, true);
      if (method === 'get') {
        routes.add('head', pattern, true);
        head(pattern, (res, req) => {
          if (tag(res, req, app, true)) handler(res, req);
        });
      }
      return register(pattern, (res, req) => {
        if (tag(res, req, app, method === 'any' && req.getMethod() === 'head')) handler(res, req);
      });
    };
  }
}

/**
 * false: the request's body framing is ambiguous (`framingProblem`): the connection is cut
 * without an answer, and its route must not run.
 */
function tag(res: HttpResponse, req: HttpRequest, app: App, headOnly: boolean): boolean {
  res.app = app;
  res.headOnly = headOnly;
  if (cutAmbiguousFraming(res, req)) return false;
  const length = req.getHeader('content-length');
  if (req.getHeader('transfer-encoding') !== '' || (length !== '' && length !== '0')) watchBodyEnd(res);
  return true;
}

/**
 * true: the request's body framing is ambiguous (`framingProblem`) and its connection was cut.
 * Not a 400 and then the close: uWS 20.30 goes on to parse and run the requests that came
 * behind this one in the same read — the smuggled one — even after `end(body, true)`, and
 * `close()` drops what was written before it. So, as uWS itself answers a request with both
 * Content-Length and Transfer-Encoding: the connection cut, nothing behind it read.
 */
function cutAmbiguousFraming(res: HttpResponse, req: HttpRequest): boolean {
  if (req.getHeader('transfer-encoding') === '' && req.getHeader('content-length') === '') return false;
  if (!framingProblem(req)) return false;
  res.close();
  return true;
}

/**
 * What makes a request's body framing ambiguous (RFC 9112 §6.3): `Content-Length` given twice
 * with different values, or `Transfer-Encoding` given twice. uWS 20.30 reads the first of each
 * and goes on, where a proxy in front may read the last: the bytes one takes for this request's
 * body the other takes for a request of its own, which reaches the gateway without passing the
 * proxy's checks (request smuggling). Node's parser (the portable edge) refuses both with a 400
 * before any route sees them.
 */
function framingProblem(req: HttpRequest): string | undefined {
  let length: string | undefined;
  let encodings = 0;
  let problem: string | undefined;
  req.forEach((name, value) => {
    if (name === 'transfer-encoding' && ++encodings > 1) problem ??= 'Transfer-Encoding given more than once';
    if (name !== 'content-length') return;
    if (length !== undefined && value !== length)
      problem ??= 'Content-Length given more than once, with different values';
    length = value;
  });
  return problem;
}

/**
 * A request with a body: until its last chunk arrives, `reply` closes the connection. An answer
 * given before the body ended (a 401 on the headers, a 413 part-way) would otherwise leave the
 * edge reading the rest, however long the client says it is, to keep the connection alive.
 */
function watchBodyEnd(res: HttpResponse): void {
  res.bodyPending = true;
  const onData = res.onData.bind(res);
  res.onData = (handler) =>
    onData((chunk, isLast) => {
      if (isLast) res.bodyPending = false;
      handler(chunk, isLast);
    });
}

/**
 * The methods `app` has a route for at `path` (upper case), for a 405's `Allow`: none
 * means no route at all (404).
 */
export function allowedMethods(app: App, path: string): string[] {
  const routes = routesOfApp.get(app);
  return ['get', 'head', 'post', 'options']
    .filter((method) => routes?.match(method, path))
    .map((method) => method.toUpperCase());
}

/** Whether a WebSocket route of `app` serves `path` (a request there that reached the HTTP routes is no upgrade). */
export function isWebSocketPath(app: App, path: string): boolean {
  return routesOfApp.get(app)?.match(WEBSOCKET, path) !== undefined;
}

/** Which edge `app` runs on. */
export function edgeInfo(app: App): EdgeInfo {
  const edge = edgeOfApp.get(app);
  if (!edge) throw new Error('not an app made by createApp');
  return edge.info;
}

/** Every edge this process has made an app on (for `tether_edge_info`). */
export function edgesInUse(): EdgeInfo[] {
  return [...running.values()];
}

export type SendResult = 'sent' | 'buffered' | 'dropped';

/** Send a text frame; the result is the backpressure signal. */
export function sendText<T>(ws: Socket<T>, text: string): SendResult {
  const status = ws.send(text, false, false);
  return status === SEND_SENT ? 'sent' : status === SEND_BUFFERED ? 'buffered' : 'dropped';
}

/**
 * What the edge closed a socket for on its own, when it is a rule of the protocol:
 * both edges cut such a socket without a close frame (the client sees 1006) and
 * name the reason in the message the close handler gets (PROTOCOL_CUT).
 */
export function edgeCloseReason(message: ArrayBuffer): 'INVALID_UTF8' | 'MESSAGE_TOO_LARGE' | undefined {
  const text = Buffer.from(message).toString();
  if (text === PROTOCOL_CUT.invalidUtf8) return 'INVALID_UTF8';
  if (text.startsWith(PROTOCOL_CUT.tooBig)) return 'MESSAGE_TOO_LARGE';
  return undefined;
}

/** The port could not be bound; the message says why it may be and what to do. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * Listen on `host:port`. Exclusive unless `reusePort` (REUSE_PORT=true): a port some
 * process already holds refuses the bind, where with SO_REUSEPORT a second gateway
 * would silently start beside the first and take half its connections.
 */
export function listen(
  app: App,
  host: string,
  port: number,
  { reusePort = false }: { reusePort?: boolean } = {},
): Promise<ListenSocket> {
  const edge = edgeOfApp.get(app);
  if (!edge) return Promise.reject(new Error('not an app made by createApp'));
  return new Promise((resolve, reject) => {
    app.listen(host, port, reusePort ? LISTEN_SHARED : LISTEN_EXCLUSIVE, (token) =>
      token
        ? resolve({ app, edge, token })
        : reject(new ListenError(listenFailure(edge, host, port, reusePort))),
    );
  });
}

function listenFailure(edge: Edge, host: string, port: number, reusePort: boolean): string {
  const cannot = `cannot listen on ${host}:${port}: the port is in use (another gateway?) or not allowed to this user, or HOST is not an address of this machine.`;
  if (!reusePort)
    return `${cannot} To run several processes on one port, set REUSE_PORT=true on each of them.`;
  if (!sharesPorts(edge.info.impl))
    return `${cannot} REUSE_PORT=true has no effect on the ws edge under Node ${process.versions.node} (it needs Node ≥ 22.12 or ≥ 23.1): give each process its own PORT.`;
  return `${cannot} With REUSE_PORT=true, every process on the port must set it.`;
}

/**
 * Whether processes on the edge `impl` can share a port (REUSE_PORT=true): uWS always; the
 * ws edge only where Node's `reusePort` works, from 22.12 and 23.1 (Node ignores it before:
 * src/edge/ws-edge/ws-app.ts).
 */
export function sharesPorts(impl: EdgeInfo['impl']): boolean {
  if (impl !== 'ws') return true;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export function listeningPort(socket: ListenSocket): number {
  return socket.edge.listeningPort(socket.token);
}

/**
 * Stop taking connections. Keep-alive HTTP connections stay open (a load balancer's health
 * check reads the drain's 503 on its own), but each reply from now on closes its connection:
 * a backend's next request opens a new one, which reaches a process still listening on the
 * port, instead of failing when this one exits (docs/admission.md, "Drain").
 */
export function closeListenSocket(socket: ListenSocket): void {
  stoppedListening.add(socket.app);
  socket.edge.closeListenSocket(socket.token);
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
    // Node's text for every code: a status line is `HTTP/1.1 405 Method Not Allowed`; uWS writes
    // what it is given, so a code missing from a list kept here went out as `HTTP/1.1 405`.
    res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`.trim());
    res.writeHeader('content-type', contentType);
    for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    const close = res.bodyPending === true || (res.app !== undefined && stoppedListening.has(res.app));
    if (res.headOnly) {
      res.writeHeader('content-length', String(Buffer.byteLength(body)));
      if (close) res.writeHeader('connection', 'close');
      res.endWithoutBody();
    } else res.end(body, close);
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

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // a BOM stays, and is not JSON

/**
 * Read a request body as UTF-8 text, as `readBody` reads it; rejects with BodyNotUtf8Error
 * when it is not UTF-8, where `Buffer#toString` would put U+FFFD in place of the bad bytes
 * and the data would be stored changed without a word (JSON text is UTF-8, RFC 8259 §8.1).
 */
export async function readTextBody(res: HttpResponse, limit: number): Promise<string> {
  const body = await readBody(res, limit);
  try {
    return UTF8.decode(body);
  } catch {
    throw new BodyNotUtf8Error();
  }
}

export class BodyNotUtf8Error extends Error {
  override name = 'BodyNotUtf8Error';
  constructor() {
    super('the body is not valid UTF-8, so not JSON');
  }
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}
