/**
 * uWS's HttpRequest and HttpResponse over `node:http`, for the portable edge.
 * A response becomes unusable after `end` or abort, as in uWS: using it then throws,
 * so a handler that forgets to check `aborted` fails the same way on both edges.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpRequest, HttpResponse, RecognizedString, UpgradeContext } from '../edge-port.ts';
import { cutWhenStalled } from './stalled-reader.ts';

/**
 * uWS cuts an HTTP connection that sends nothing for 10 s while its request is still coming
 * (headers or body): a client that stops halfway holds no socket for long. The portable edge
 * does the same (headers: `headersTimeout` in ws-app.ts; a body: `onData` below).
 */
export const HTTP_IDLE_TIMEOUT_MS = 10_000;
/**
 * How much of a body must come for uWS to restart its timeout: its HTTP_RECEIVE_THROUGHPUT_BYTES
 * (16 KiB/s) over the 10 s. A body slower than that is cut, however steadily it trickles.
 */
export const HTTP_BODY_BYTES_PER_TIMEOUT = 16 * 1024 * (HTTP_IDLE_TIMEOUT_MS / 1000);

export class NodeRequest implements HttpRequest {
  constructor(
    readonly raw: IncomingMessage,
    private readonly path: string,
    private readonly query: string | undefined,
    private readonly params: string[],
  ) {}

  getHeader(lowerCaseKey: string): string {
    const value = this.raw.headers[lowerCaseKey];
    return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
  }

  forEach(cb: (lowerCaseKey: string, value: string) => void): void {
    const raw = this.raw.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) cb((raw[i] as string).toLowerCase(), raw[i + 1] as string);
  }

  getParameter(index: number): string | undefined {
    return this.params[index];
  }

  getUrl(): string {
    return this.path;
  }

  getMethod(): string {
    return (this.raw.method ?? 'get').toLowerCase();
  }

  getQuery(): string | undefined;
  getQuery(key: string): string | undefined;
  getQuery(key?: string): string | undefined {
    if (key === undefined || this.query === undefined) return this.query;
    for (const pair of this.query.split('&')) {
      const eq = pair.indexOf('=');
      if ((eq < 0 ? pair : pair.slice(0, eq)) !== key) continue;
      return eq < 0 ? '' : decode(pair.slice(eq + 1));
    }
    return undefined;
  }
}

/** Performs `res.upgrade` for the request it was made for, with bytes that came after its head. */
export type Upgrader = (userData: unknown, protocol: string, early: Buffer[]) => void;

export class NodeResponse implements HttpResponse {
  aborted?: boolean;
  private done = false;
  private readonly abortHandlers: (() => void)[] = [];
  private reply: ServerResponse | undefined;
  private early: Buffer[] = [];
  /** Bytes streamed by `write`: the offset `onWritable` reports, as uWS does. */
  private written = 0;
  private unwatch: (() => void) | undefined;

  /** `res` for a plain request; for an upgrade request, the raw socket and how to upgrade it. */
  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse | undefined,
    private readonly upgrader?: Upgrader,
  ) {
    this.reply = res;
    res?.on('close', () => {
      if (!res.writableFinished) this.abort();
    });
  }

  /** True once ended, upgraded or aborted. */
  get settled(): boolean {
    return this.done;
  }

  /**
   * An upgrade answered later (after an await): read the socket meanwhile so a client
   * that leaves is noticed (onAborted), keeping what it sent for the WebSocket.
   */
  watchUpgradeSocket(): void {
    const socket = this.req.socket;
    const onData = (chunk: Buffer) => this.early.push(chunk);
    const onGone = () => {
      this.abort();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    this.unwatch = () => {
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
    };
  }

  writeStatus(status: RecognizedString): HttpResponse {
    const text = textOf(status);
    const space = text.indexOf(' ');
    const res = this.response();
    res.statusCode = Number(space < 0 ? text : text.slice(0, space));
    if (space > 0) res.statusMessage = text.slice(space + 1);
    return this;
  }

  writeHeader(key: RecognizedString, value: RecognizedString): HttpResponse {
    this.response().appendHeader(textOf(key), textOf(value));
    return this;
  }

  end(body?: RecognizedString, closeConnection?: boolean): HttpResponse {
    const res = this.response();
    if (closeConnection) res.shouldKeepAlive = false;
    this.done = true;
    res.end(body === undefined ? undefined : typeof body === 'string' ? body : bytesOf(body));
    this.watchTaking();
    return this;
  }

  endWithoutBody(): HttpResponse {
    return this.end(); // node:http sends no body to a HEAD request
  }

  write(chunk: RecognizedString): boolean {
    const res = this.response();
    this.written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    const taken = res.write(typeof chunk === 'string' ? chunk : bytesOf(chunk));
    this.watchTaking();
    return taken;
  }

  onWritable(handler: (offset: number) => boolean): HttpResponse {
    this.response().on('drain', () => {
      if (!this.done) handler(this.written);
    });
    return this;
  }

  close(): HttpResponse {
    this.usable();
    this.reply?.destroy();
    this.req.socket.destroy();
    this.abort();
    return this;
  }

  cork(cb: () => void): HttpResponse {
    this.usable();
    cb();
    return this;
  }

  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): HttpResponse {
    this.usable();
    // As uWS: the clock restarts each time another HTTP_BODY_BYTES_PER_TIMEOUT came, so a body
    // that stops coming, or comes slower than 16 KiB/s (a byte every few seconds would otherwise
    // hold the connection for good: no credential guards POST /sse/frames), is cut and its
    // onAborted runs. A timer of its own, not the socket's timeout (`req.setTimeout`): node:http
    // keeps its keep-alive timeout there, set when a response ends, and a body that ends after
    // its response (a 401 or 413 answered before the body was read) would clear it, leaving the
    // idle connection open for good.
    let idle: NodeJS.Timeout | undefined;
    let sinceRestart = 0;
    const stopClock = () => clearTimeout(idle);
    const restartClock = () => {
      stopClock();
      sinceRestart = 0;
      idle = setTimeout(() => this.req.socket.destroy(), HTTP_IDLE_TIMEOUT_MS);
      idle.unref();
    };
    restartClock();
    this.req.on('data', (chunk: Buffer) => {
      sinceRestart += chunk.byteLength;
      if (sinceRestart >= HTTP_BODY_BYTES_PER_TIMEOUT) restartClock();
      handler(arrayBufferOf(chunk), false);
    });
    this.req.on('end', () => {
      stopClock();
      handler(new ArrayBuffer(0), true);
    });
    this.req.once('close', stopClock);
    return this;
  }

  onAborted(handler: () => void): HttpResponse {
    this.usable();
    this.abortHandlers.push(handler);
    return this;
  }

  getRemoteAddressAsText(): ArrayBuffer {
    return addressText(this.req.socket);
  }

  upgrade<UserData>(
    userData: UserData,
    _key: RecognizedString,
    protocol: RecognizedString,
    _extensions: RecognizedString,
    _context: UpgradeContext,
  ): void {
    this.usable();
    if (!this.upgrader) throw new Error('upgrade() on a request that did not ask for a WebSocket');
    this.done = true;
    this.unwatch?.();
    this.upgrader(userData, textOf(protocol), this.early);
  }

  /** Bytes the socket could not take at once: as uWS, a client that then takes none for 10 s is cut. */
  private watchTaking(): void {
    const socket = this.req.socket;
    // Node 24 holds a turn's writes in the response before they reach the socket: either one
    // being full means the client has not taken them.
    if (socket.writableNeedDrain || this.reply?.writableNeedDrain)
      cutWhenStalled(socket, HTTP_IDLE_TIMEOUT_MS);
  }

  private abort(): void {
    if (this.done) return;
    this.done = true;
    for (const handler of this.abortHandlers) handler();
  }

  private usable(): void {
    if (this.done) throw new Error('Invalid access of discarded HttpResponse (ended, upgraded or aborted)');
  }

  /** The reply; on an upgrade request answered without upgrading, one written to the raw socket. */
  private response(): ServerResponse {
    this.usable();
    if (!this.reply) {
      this.unwatch?.();
      const reply = new ServerResponse(this.req);
      reply.shouldKeepAlive = false;
      reply.assignSocket(this.req.socket);
      reply.on('finish', () => this.req.socket.end());
      this.reply = reply;
    }
    return this.reply;
  }
}

/** A peer's address as uWS gives it: text in an ArrayBuffer. */
export function addressText(socket: Socket): ArrayBuffer {
  return arrayBufferOf(Buffer.from(socket.remoteAddress ?? ''));
}

export function arrayBufferOf(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

export function bytesOf(value: ArrayBuffer | Uint8Array): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value);
}

export function textOf(value: RecognizedString): string {
  return typeof value === 'string' ? value : Buffer.from(bytesOf(value)).toString();
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
