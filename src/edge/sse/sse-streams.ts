/**
 * This process's open SSE streams: found by their connection token (POST /sse/frames),
 * subscribed to topics as WebSockets are to the edge's (uWS's pub/sub reaches only its own
 * sockets, so a channel's publish goes to both: `publisherFor`), kept alive while quiet, and
 * dropped when the client has POSTed nothing for the heartbeat's idle timeout (a half-open
 * TCP connection would otherwise hold the stream until the kernel gives up on it), and closed
 * with SSE_POST_MISSING when its POSTs wait for one that is not coming (sse-inbound.ts).
 */
import type { CompressionConfig } from '../../config/config.ts';
import type { Connection } from '../../core/connection.ts';
import { decodeFrame } from '../../protocol/frame-codec.ts';
import { randomView } from '../../shared/random-page.ts';
import type { App, HttpResponse } from '../edge-port.ts';
import { TurnEnd } from '../turn-end.ts';
import { acceptsGzip, GzipStream, sseEncodingFor } from './sse-gzip.ts';
import { dataMessage, eventHead, openMessage, parseLastEventId } from './sse-messages.ts';
import { SseSocket, type StreamRegistry } from './sse-socket.ts';

/**
 * A comment at least this often on a quiet stream: uWS ends an HTTP response idle for 10 s,
 * and proxies drop quiet ones too.
 */
export const KEEP_ALIVE_MS = 5000;

/** What the request that opens a stream says (its headers, copied: uWS's request is gone after the handler). */
export interface StreamRequest {
  lastEventId: string;
  acceptEncoding: string;
  /** Headers the response carries besides the stream's own (CORS: sse-cors.ts). */
  headers: Record<string, string>;
}

/** What a stream was opened with. */
interface Opened {
  /** `Last-Event-ID` as channel positions: a resume hello on this stream starts from them. */
  lastEventIds: Record<string, string>;
}

export class SseStreams implements StreamRegistry {
  private readonly byToken = new Map<string, SseSocket>();
  private readonly opened = new WeakMap<SseSocket, Opened>();
  private readonly topics = new Map<string, Set<SseSocket>>();
  private keepAlive: NodeJS.Timeout | undefined;
  /** Streams that wrote this turn (SseSocket's `hold`): released together when it ends. */
  private readonly turnEnd = new TurnEnd<SseSocket>();

  constructor(
    /** This process: a token names it, so a POST that reaches another process is relayed here. */
    private readonly nodeId: string,
    private readonly maxBackpressure: number,
    /** A client silent this long is dropped (1006), as the WebSocket edge drops one that misses its pong. */
    private readonly idleTimeoutMs: number,
    /** WS_COMPRESSION…: on, a client that accepts gzip gets its stream gzipped (sse-gzip.ts). */
    private readonly compression: CompressionConfig,
    /** The largest POST body (`postBodyLimit`), told to the client in the `open` event. */
    private readonly maxPostBytes: number,
  ) {}

  /** Answer `res` with an event stream for `conn`; its first event hands out the token. */
  open(res: HttpResponse, conn: Connection, request: StreamRequest): SseSocket {
    const token = `${randomView(24).toString('base64url')}.${Buffer.from(this.nodeId).toString('base64url')}`;
    const gzip =
      sseEncodingFor(this.compression) === 'gzip' && acceptsGzip(request.acceptEncoding)
        ? new GzipStream(this.compression)
        : undefined;
    const socket = new SseSocket(res, conn, token, this, this.maxBackpressure, gzip);
    this.byToken.set(token, socket);
    this.opened.set(socket, { lastEventIds: parseLastEventId(request.lastEventId) });
    res.cork(() => {
      res.writeStatus('200 OK');
      res.writeHeader('content-type', 'text/event-stream');
      res.writeHeader('cache-control', 'no-store');
      res.writeHeader('x-accel-buffering', 'no'); // nginx: pass each event on at once
      // Whether the stream is gzipped depends on the request's Accept-Encoding.
      res.writeHeader('vary', 'accept-encoding');
      if (gzip) res.writeHeader('content-encoding', 'gzip');
      for (const [name, value] of Object.entries(request.headers)) res.writeHeader(name, value);
      res.write(socket.opening(openMessage(token, this.maxPostBytes, this.idleTimeoutMs)));
    });
    this.startKeepAlive();
    return socket;
  }

  find(token: string): SseSocket | undefined {
    return this.byToken.get(token);
  }

  /** The process that holds the stream `token` names, when it is another one. */
  elsewhere(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot < 0) return undefined;
    const nodeId = Buffer.from(token.slice(dot + 1), 'base64url').toString();
    return nodeId && nodeId !== this.nodeId ? nodeId : undefined;
  }

  /**
   * A resume hello on a stream opened with `Last-Event-ID` resumes from those positions where
   * it names none itself; the positions become the stream's, so its next `id` holds them all.
   * Every hello until the welcome: one refused (a bad field) leaves the stream open for a
   * corrected one, which must resume from the same positions. Only a hello the router will
   * take gives the stream its positions: a refused one's would go out in the next `id`, and
   * an entry the hello was refused for would then refuse the reconnect's hello too.
   */
  withLastEventIds(socket: SseSocket, frame: string): string {
    const opened = this.opened.get(socket);
    if (!opened || socket.conn.welcomed || !frame.includes('"hello"')) return frame;
    let hello: { type?: unknown; resume?: { lastEventIds?: Record<string, string> } };
    try {
      hello = JSON.parse(frame);
    } catch {
      return frame; // the frame router answers it
    }
    if (hello.type !== 'hello') return frame;
    const resume = hello.resume;
    if (typeof resume !== 'object' || resume === null) return frame;
    const merged = { ...opened.lastEventIds, ...resume.lastEventIds };
    let text = frame;
    if (Object.keys(opened.lastEventIds).length > 0) {
      resume.lastEventIds = merged;
      text = JSON.stringify(hello);
    }
    if (!isValidFrame(text)) return text; // the frame router refuses it, the stream keeps none of it
    for (const [channel, id] of Object.entries(merged)) socket.positions.set(channel, id);
    return text;
  }

  hold(socket: SseSocket): void {
    this.turnEnd.add(socket);
  }

  subscribe(topic: string, socket: SseSocket): boolean {
    let set = this.topics.get(topic);
    if (!set) {
      set = new Set();
      this.topics.set(topic, set);
    }
    set.add(socket);
    socket.topics.add(topic);
    return true;
  }

  unsubscribe(topic: string, socket: SseSocket): boolean {
    if (!socket.topics.delete(topic)) return false;
    const set = this.topics.get(topic);
    set?.delete(socket);
    if (set?.size === 0) this.topics.delete(topic);
    return true;
  }

  forget(socket: SseSocket): void {
    for (const topic of [...socket.topics]) this.unsubscribe(topic, socket);
    this.byToken.delete(socket.token);
    if (this.byToken.size === 0) this.stopKeepAlive();
  }

  count(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /**
   * Deliver to every stream on `topic`; one past MAX_BACKPRESSURE_BYTES is closed as a slow
   * consumer (4008) as it is written to — a stream's writes are all seen here, unlike uWS's
   * native fan-out, which the slow-consumer watch can only look at between turns — and never
   * blocks the rest.
   */
  publish(topic: string, message: string): void {
    const set = this.topics.get(topic);
    if (!set) return;
    const head = eventHead(message); // once, not once per stream
    const text = dataMessage(message, head && JSON.stringify({ [head.channel]: head.id }));
    const shared = { text, bytes: Buffer.byteLength(text) };
    for (const socket of [...set]) {
      socket.deliver(message, head, shared);
      socket.conn.closeIfSlow();
    }
  }

  get size(): number {
    return this.byToken.size;
  }

  private startKeepAlive(): void {
    if (this.keepAlive) return;
    this.keepAlive = setInterval(() => {
      const now = Date.now();
      const quietSince = now - KEEP_ALIVE_MS / 2;
      for (const socket of [...this.byToken.values()]) {
        const gap = socket.inbound.overdue(now);
        if (gap) socket.postMissing(gap);
        else if (socket.lastHeardAt <= now - this.idleTimeoutMs) socket.close();
        else if (socket.lastWriteAt <= quietSince) socket.keepAlive();
      }
    }, KEEP_ALIVE_MS / 2);
    this.keepAlive.unref();
  }

  private stopKeepAlive(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}

/** What a channel's publish needs: the edge's topics and this process's SSE streams, as one. */
export type TopicPublisher = Pick<App, 'publish' | 'numSubscribers'>;

export function publisherFor(app: App, streams: SseStreams): TopicPublisher {
  return {
    publish(topic, message, isBinary, compress) {
      const sent = app.publish(topic, message, isBinary, compress);
      if (typeof topic === 'string' && typeof message === 'string') streams.publish(topic, message);
      return sent;
    },
    numSubscribers: (topic) =>
      app.numSubscribers(topic) + (typeof topic === 'string' ? streams.count(topic) : 0),
  };
}

/** Whether the frame router takes `text` (its validation, run once more on a hello before welcome). */
function isValidFrame(text: string): boolean {
  try {
    decodeFrame(text);
    return true;
  } catch {
    return false;
  }
}
