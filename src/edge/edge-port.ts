/**
 * The edge port: the part of the uWebSockets.js API Tether uses, and nothing more.
 * Two adapters implement it (engine.io's `wsEngine` idea — swap the server under
 * the same API): native uWS (src/edge/native-uws.ts), whose objects satisfy these
 * interfaces as they are, and the portable edge on `ws` + `node:http`
 * (src/edge/ws-edge/), which reproduces uWS's behaviour where Tether relies on it.
 *
 * The uWS rules hold on both, and the portable edge enforces the same ones:
 * - a WebSocket MUST NOT be used once its `close` handler has returned (it throws);
 * - an HttpResponse MUST NOT be used after `end` or abort; an async reply MUST
 *   register `onAborted` and check it after every await;
 * - `send()` returns 1 sent, 0 buffered (backpressure), 2 dropped (over `maxBackpressure`).
 */

/**
 * The close handler's message when the edge cut a socket for a rule of the protocol
 * (code 1006, no close frame): uWS's own words, which the portable edge uses too.
 */
export const PROTOCOL_CUT = {
  /** A frame over `maxPayloadLength` (uWS may append detail). */
  tooBig: 'Received too big message',
  invalidUtf8: 'Received invalid UTF-8',
} as const;

/** What uWS accepts as a message or header: text or bytes. */
export type RecognizedString = string | ArrayBuffer | Uint8Array;

export interface WebSocket<UserData> {
  /** 1 sent, 0 buffered (backpressure built up), 2 dropped (over `maxBackpressure`). */
  send(message: RecognizedString, isBinary?: boolean, compress?: boolean): number;
  /** Bytes written but not yet taken by the kernel. */
  getBufferedAmount(): number;
  /** Close frame with `code`, then the `close` handler runs at once (synchronously). */
  end(code?: number, shortMessage?: RecognizedString): void;
  /** Cut the connection without a close frame (the peer sees 1006); the `close` handler runs at once. */
  close(): void;
  subscribe(topic: RecognizedString): boolean;
  unsubscribe(topic: RecognizedString): boolean;
  /** Run `cb` with writes batched into as few system calls as possible. */
  cork(cb: () => void): WebSocket<UserData>;
  getUserData(): UserData;
  /** The peer's address as text (IPv4 peers of a `::` socket may come IPv4-mapped). */
  getRemoteAddressAsText(): ArrayBuffer;
}

export interface HttpRequest {
  /** The header's value, '' when absent; `lowerCaseKey` MUST be lower case. */
  getHeader(lowerCaseKey: string): string;
  /** Every header as it came, duplicates included, each name in lower case. */
  forEach(cb: (lowerCaseKey: string, value: string) => void): void;
  /** The `index`th `:parameter` of the route pattern. */
  getParameter(index: number): string | undefined;
  /** The path, without the query string. */
  getUrl(): string;
  /** The method in lower case. */
  getMethod(): string;
  /** The raw query string (undefined when none), or one decoded value by name. */
  getQuery(): string | undefined;
  getQuery(key: string): string | undefined;
}

export interface HttpResponse {
  /** Set by src/edge/uws.ts's `trackAbort`/`readBody`: the client went away. */
  aborted?: boolean;
  /** Set by src/edge/uws.ts's routes: the app that took the request (`reply` asks whether it still listens). */
  app?: App;
  /** Set by src/edge/uws.ts's routes: a HEAD request — `reply` sends the status and headers, no body. */
  headOnly?: boolean;
  /** Set by src/edge/uws.ts's routes: the request's body has not all arrived — `reply` closes the connection. */
  bodyPending?: boolean;
  writeStatus(status: RecognizedString): HttpResponse;
  writeHeader(key: RecognizedString, value: RecognizedString): HttpResponse;
  end(body?: RecognizedString, closeConnection?: boolean): HttpResponse;
  /**
   * End a reply with no body (a HEAD's), its `content-length` written as a header. Called
   * with no arguments: given a length (or `undefined`), uWS 20.30 writes its own header and
   * holds the response open waiting for that body, and aborts the process.
   */
  endWithoutBody(): HttpResponse;
  /**
   * Stream part of the body (chunked); false when it could not all go out now (it is kept
   * and sent later: wait for `onWritable` before writing more). The SSE stream's writes.
   */
  write(chunk: RecognizedString): boolean;
  /** Called when the kernel took what a `write` left behind; return true. */
  onWritable(handler: (offset: number) => boolean): HttpResponse;
  /** Cut the connection at once; the `onAborted` handlers run. */
  close(): HttpResponse;
  cork(cb: () => void): HttpResponse;
  /** Body chunks; a chunk is only valid during the call (copy it). */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): HttpResponse;
  onAborted(handler: () => void): HttpResponse;
  getRemoteAddressAsText(): ArrayBuffer;
  /** Turn this request into a WebSocket with `userData` (in the `upgrade` handler, now or later). */
  upgrade<UserData>(
    userData: UserData,
    secWebSocketKey: RecognizedString,
    secWebSocketProtocol: RecognizedString,
    secWebSocketExtensions: RecognizedString,
    context: UpgradeContext,
  ): void;
}

/** Opaque: passed from the `upgrade` handler to `res.upgrade`. */
export type UpgradeContext = unknown;

export interface WebSocketBehavior<UserData> {
  /** Largest frame accepted (bytes); a larger one ends the connection (see docs/edge.md). */
  maxPayloadLength?: number;
  /** Bytes buffered past which `send` drops (returns 2) and topic publish skips the socket. */
  maxBackpressure?: number;
  /** Close (without a close frame) a socket whose message was dropped. */
  closeOnBackpressureLimit?: number | boolean;
  /** Seconds of silence before the socket is dropped (pinged before, with `sendPingsAutomatically`). */
  idleTimeout?: number;
  sendPingsAutomatically?: boolean;
  /** permessage-deflate: uWS's CompressOptions mask (src/edge/compression.ts); 0 or absent: off. */
  compression?: number;
  upgrade?: (res: HttpResponse, req: HttpRequest, context: UpgradeContext) => void;
  open?: (ws: WebSocket<UserData>) => void;
  message?: (ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) => void;
  /**
   * A ping from the peer, after the edge answered it with a pong (RFC 6455 §5.5.2: uWS always
   * does, first; the pong is a send, so past `maxBackpressure` it is dropped like any other).
   */
  ping?: (ws: WebSocket<UserData>, message: ArrayBuffer) => void;
  /** A pong from the peer: an answer to a heartbeat, or unsolicited (§5.5.3). */
  pong?: (ws: WebSocket<UserData>, message: ArrayBuffer) => void;
  drain?: (ws: WebSocket<UserData>) => void;
  close?: (ws: WebSocket<UserData>, code: number, message: ArrayBuffer) => void;
}

export type RouteHandler = (res: HttpResponse, req: HttpRequest) => void;

/** Opaque per implementation: what `listen` hands back, for `port` and `close`. */
export type ListenToken = unknown;

export interface App {
  ws<UserData>(pattern: string, behavior: WebSocketBehavior<UserData>): App;
  get(pattern: string, handler: RouteHandler): App;
  /** src/edge/uws.ts gives every GET route its HEAD twin. */
  head(pattern: string, handler: RouteHandler): App;
  post(pattern: string, handler: RouteHandler): App;
  /** CORS preflight requests (src/edge/sse/sse-cors.ts). */
  options(pattern: string, handler: RouteHandler): App;
  any(pattern: string, handler: RouteHandler): App;
  /** Send to every socket subscribed to `topic` (sockets over `maxBackpressure` are skipped). */
  publish(
    topic: RecognizedString,
    message: RecognizedString,
    isBinary?: boolean,
    compress?: boolean,
  ): boolean;
  numSubscribers(topic: RecognizedString): number;
  /** `options`: LISTEN_SHARED or LISTEN_EXCLUSIVE (uWS's own values, so a native app takes them as they are). */
  listen(host: string, port: number, options: ListenOptions, cb: (token: ListenToken | false) => void): App;
}

/**
 * uWS's listen options: `LIBUS_LISTEN_DEFAULT` (0) binds with SO_REUSEPORT, so other
 * processes may listen on the same port; `LIBUS_LISTEN_EXCLUSIVE_PORT` (1) does not,
 * so a port already taken refuses the bind.
 */
export const LISTEN_SHARED = 0;
export const LISTEN_EXCLUSIVE = 1;
export type ListenOptions = typeof LISTEN_SHARED | typeof LISTEN_EXCLUSIVE;

/** Which edge runs, and why (start-up log, `/health/websocket`, `tether_edge_info`). */
export interface EdgeInfo {
  impl: EdgeImpl;
  /** The uWS build (`@btc-vision/uwebsockets.js@20.57.0`…) or `ws@8.x`. */
  version: string;
  /** One sentence: why this edge was chosen. */
  reason: string;
}

export type EdgeImpl = 'uws' | 'ws';
export type EdgePreference = EdgeImpl | 'auto';

/** One implementation of the port, loaded and ready to make apps. */
export interface Edge {
  readonly info: EdgeInfo;
  createApp(): App;
  listeningPort(token: ListenToken): number;
  closeListenSocket(token: ListenToken): void;
}
