/**
 * Tether's protocol (tether-session.ts) over the SSE fallback (docs/protocol.md §1.1):
 * frames come down `GET /sse`, go up by `POST /sse/frames`, one POST in flight, frames that
 * wait meanwhile sent together. Plain `node:http` rather than the SDK's fetch-based SseSocket:
 * it binds each client to its own source address, as every generator socket is, and costs
 * the generator less, so the figure is the gateway's.
 *
 * With `wire.deflate` it accepts a gzipped stream and inflates it; `bytesRead` counts what
 * crossed the wire.
 *
 * POSTs share a keep-alive agent per client whose idle socket closes after a second: a
 * publishing client keeps one connection, an idle subscriber holds only its stream (as the
 * gateway's 20,000-descriptor limit per process needs at 10K subscribers) and reconnects for
 * the ping the gateway wants at least every HEARTBEAT_IDLE_TIMEOUT_S.
 */
import { Agent, type ClientRequest, type IncomingMessage, request } from 'node:http';
import { constants, createGunzip } from 'node:zlib';
import {
  DEFAULT_MAX_POST_BYTES,
  parseSseMessage,
  takePostBody,
} from '../../../packages/client/src/sse-wire.ts';
import type { BenchClient, ClientHandlers, ClientOptions } from './bench-client.ts';
import { TetherSession } from './tether-session.ts';

/** What the SDK does (packages/client): a ping well inside the gateway's 40 s idle limit. */
const PING_EVERY_MS = 20_000;
const IDLE_POST_SOCKET_MS = 1000;
/** What a WebSocket reports for a connection lost without a close frame. */
const ABNORMAL_CLOSURE = 1006;

export async function connectTetherSseClient(
  options: ClientOptions,
  handlers: ClientHandlers,
): Promise<BenchClient> {
  const hello = await TetherSession.hello(options);
  const stream = new SseStream(options.url, options.localAddress, options.wire?.deflate ?? false);
  const session = new TetherSession(options, handlers, stream, hello);
  stream.onOpen = () => session.opened();
  stream.onFrame = (text) => session.received(text);
  stream.onClose = (code, reason) => session.closed(code, reason);
  stream.onError = (error) => session.failed(error);
  return session.ready;
}

class SseStream {
  onOpen = () => {};
  onFrame = (_text: string) => {};
  onClose = (_code: number, _reason: string) => {};
  onError = (_error: Error) => {};
  isOpen = false;
  private readonly get: ClientRequest;
  private readonly agent: Agent;
  private readonly framesUrl: URL;
  private connection = '';
  private maxPostBytes = DEFAULT_MAX_POST_BYTES;
  private outgoing: string[] = [];
  private posting = false;
  private seq = 0;
  private bytes = 0;
  private closedWith: { code: number; reason: string } | undefined;
  private ended = false;
  private ping: NodeJS.Timeout | undefined;
  private closeWaiters: (() => void)[] = [];

  /** `gzip`: accept a gzipped stream (docs/protocol.md §1.1), as a browser's fetch does. */
  constructor(url: string, localAddress: string, gzip: boolean) {
    this.framesUrl = new URL(`${url}/frames`);
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: IDLE_POST_SOCKET_MS, localAddress });
    const headers = { accept: 'text/event-stream', 'accept-encoding': gzip ? 'gzip' : 'identity' };
    this.get = request(url, { agent: false, localAddress, headers });
    this.get.on('response', (res) => this.read(res));
    this.get.on('error', (error) =>
      this.isOpen ? this.finish(ABNORMAL_CLOSURE, String(error)) : this.onError(error),
    );
    this.get.end();
  }

  send(text: string): void {
    if (this.ended) return;
    this.outgoing.push(text);
    this.post();
  }

  /** The stream's end is the close (docs/protocol.md §1.1): a `bye` first says it was meant. */
  close(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.send('{"type":"bye"}');
    return closed;
  }

  terminate(): void {
    this.finish(ABNORMAL_CLOSURE, '');
  }

  bytesRead(): number {
    return this.bytes;
  }

  private read(res: IncomingMessage): void {
    if (res.statusCode !== 200) {
      res.resume();
      this.onError(new Error(`GET /sse: HTTP ${res.statusCode}`));
      this.get.destroy();
      return;
    }
    // Bytes on the wire are counted before inflating: what the compression saved.
    res.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
    });
    const gzipped = res.headers['content-encoding'] === 'gzip';
    const text = gzipped ? res.pipe(createGunzip({ flush: constants.Z_SYNC_FLUSH })) : res;
    text.setEncoding('utf8');
    let buffer = '';
    text.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    });
    res.on('close', () => {
      const ended = this.closedWith ?? { code: ABNORMAL_CLOSURE, reason: '' };
      this.finish(ended.code, ended.reason);
    });
  }

  /** One SSE message (docs/protocol.md §1.1). */
  private dispatch(message: string): void {
    const { event, data } = parseSseMessage(message);
    if (event === 'open') {
      const open = JSON.parse(data) as { connection: string; maxPostBytes?: number };
      this.connection = open.connection;
      this.maxPostBytes = open.maxPostBytes ?? DEFAULT_MAX_POST_BYTES;
      this.isOpen = true;
      this.ping = setInterval(() => this.send('{"type":"ping"}'), PING_EVERY_MS);
      this.onOpen();
    } else if (event === 'close') {
      this.closedWith = JSON.parse(data) as { code: number; reason: string };
    } else if (data) {
      this.onFrame(data);
    }
  }

  private post(): void {
    if (this.posting || this.outgoing.length === 0 || !this.connection) return;
    this.posting = true;
    const body = takePostBody(this.outgoing, this.maxPostBytes);
    const req = request(this.framesUrl, {
      method: 'POST',
      agent: this.agent,
      headers: {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        'tether-connection': this.connection,
        'tether-seq': String(++this.seq),
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        this.posting = false;
        if (res.statusCode !== 204) this.finish(ABNORMAL_CLOSURE, `POST: HTTP ${res.statusCode}`);
        else this.post();
      });
    });
    req.on('error', (error) => this.finish(ABNORMAL_CLOSURE, String(error)));
    req.end(body);
  }

  private finish(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.isOpen = false;
    clearInterval(this.ping);
    this.get.destroy();
    this.agent.destroy();
    this.onClose(code, reason);
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }
}
