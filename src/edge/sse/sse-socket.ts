/**
 * One server-sent-events stream as the core's EdgeSocket (src/core/ports/edge-socket.ts):
 * frames go down as SSE messages on an HTTP response that never ends while the connection
 * lives; the client's frames come up by POST (sse-endpoint.ts). It keeps the uWS rules the
 * core relies on (src/edge/edge-port.ts): `send` returns 1 sent, 0 buffered, 2 dropped (past
 * `maxBackpressure`); the close handler runs at once inside `end` and `close`; nothing is
 * written after either. Where uWS cuts a WebSocket past `maxBackpressure` (1006, for its close
 * frame would not fit), a stream ends with its close event, `SLOW_CONSUMER` (4008), after what
 * it holds: every write is seen here, so a burst between two walks of the slow-consumer watch
 * (src/core/slow-consumers.ts) is told why as any slow stream is.
 *
 * Backpressure: what `write` could not send now stays in the edge, and the frames after it
 * wait here until `onWritable`, so the bytes not yet taken are known (getBufferedAmount).
 *
 * What one turn of the loop writes leaves in one write when the turn ends (`hold`, then
 * `release`), as a WebSocket's sends do under uWS's cork: a burst of events from one Redis
 * reply cost one system call per event per stream. At most MAX_HELD_BYTES wait.
 */
import type { Connection } from '../../core/connection.ts';
import { type EdgeSocket, SEND_BUFFERED, SEND_DROPPED, SEND_SENT } from '../../core/ports/edge-socket.ts';
import type { HttpResponse } from '../edge-port.ts';
import { MAX_HELD_BYTES } from '../turn-end.ts';
import type { GzipStream, SharedText } from './sse-gzip.ts';
import { type Gap, InboundSequence } from './sse-inbound.ts';
import { closeMessage, dataMessage, type EventHead, eventHead, positionsId } from './sse-messages.ts';

/** The close code a stream cut without a close event reports, as a WebSocket's would (RFC 6455 §7.1.5). */
export const ABNORMAL_CLOSURE = 1006;

const BATCH_HEAD = '{"type":"batch"';

/** An SSE message built (and, on gzip streams, compressed) once for every stream a publish reaches. */
export interface SharedMessage extends SharedText {
  bytes: number;
}

/** What goes on the wire: text, or a gzip stream's bytes. */
type Chunk = string | Buffer;

/** The registry the socket is listed in while open (sse-streams.ts). */
export interface StreamRegistry {
  /** Call the socket's `release` when this turn of the loop ends. */
  hold(socket: SseSocket): void;
  subscribe(topic: string, socket: SseSocket): boolean;
  unsubscribe(topic: string, socket: SseSocket): boolean;
  forget(socket: SseSocket): void;
}

export class SseSocket implements EdgeSocket {
  /** Topics this stream is subscribed to (kept by the registry). */
  readonly topics = new Set<string>();
  /** channel → the last event ID sent on it: every SSE `id`, so `Last-Event-ID` resumes them all. */
  readonly positions = new Map<string, string>();
  /** When the stream last carried anything (the keep-alive writes only to quiet streams). */
  lastWriteAt = Date.now();
  /** When the client last POSTed frames (or opened the stream): a silent one is dropped. */
  lastHeardAt = Date.now();
  /** The client's POSTs, put back in the order sent. */
  readonly inbound = new InboundSequence();
  /** Written this turn, sent at `release`. */
  private held: Chunk[] = [];
  private heldBytes = 0;
  private readonly pending: Chunk[] = [];
  private pendingBytes = 0;
  /** Bytes of a write the edge holds (it returned false) until `onWritable`. */
  private stalledBytes = 0;
  private corked = false;
  private done = false;

  constructor(
    private readonly res: HttpResponse,
    readonly conn: Connection,
    /** The unguessable token POSTs name this stream by. */
    readonly token: string,
    private readonly registry: StreamRegistry,
    private readonly maxBackpressure: number,
    /** Set when the stream is gzipped (sse-gzip.ts): every write goes through it. */
    private readonly gzip?: GzipStream,
  ) {
    res.onAborted(() => this.finish(ABNORMAL_CLOSURE, true));
    res.onWritable(() => {
      this.flushPending();
      return true;
    });
  }

  /** The stream's first bytes: the `open` event, after gzip's header on a gzip stream. */
  opening(message: string): Chunk {
    this.lastWriteAt = Date.now();
    return this.gzip ? Buffer.concat([this.gzip.head(), this.gzip.encode(message)]) : message;
  }

  get isOpen(): boolean {
    return !this.done;
  }

  send(message: string): number {
    if (message.startsWith(BATCH_HEAD)) return this.write(dataMessage(message, this.trackBatch(message)));
    return this.write(dataMessage(message, this.track(eventHead(message))));
  }

  /**
   * A frame published to a topic (sse-streams.ts): its head parsed and its message written once
   * for every subscriber — `shared`, whose `id` is that one channel's position, is this stream's
   * own whenever this is the only channel it delivered (the usual case).
   */
  deliver(message: string, head: EventHead | undefined, shared: SharedMessage): number {
    if (!head) return this.write(shared.text, shared);
    this.positions.set(head.channel, head.id);
    this.forgetLeft(head.channel);
    if (this.positions.size === 1) return this.write(shared.text, shared);
    return this.write(dataMessage(message, positionsId(this.positions)));
  }

  /** A comment line: keeps proxies and uWS's HTTP idle timeout from closing a quiet stream. */
  keepAlive(): void {
    if (this.pending.length === 0 && this.stalledBytes === 0) this.write(': \n\n');
  }

  end(code = 1000, reason = ''): void {
    if (this.done) return;
    this.cork(() => {
      for (const chunk of this.held) this.res.write(chunk);
      for (const chunk of this.pending) this.res.write(chunk);
      this.res.write(this.encode(closeMessage(code, reason)));
      if (this.gzip) this.res.write(this.gzip.finish());
      this.res.end();
    });
    this.finish(code, false);
  }

  /** A POST the client numbered is missing (sse-inbound.ts): the stream closes, saying so. */
  postMissing(gap: Gap): void {
    this.conn.fail('SSE_POST_MISSING', { detail: gap.detail });
  }

  close(): void {
    if (this.done) return;
    this.done = true; // before res.close(): its onAborted must not report the close twice
    this.res.close();
    this.done = false;
    this.finish(ABNORMAL_CLOSURE, true);
  }

  cork(fn: () => void): unknown {
    if (this.corked || this.done) {
      fn();
      return this;
    }
    this.corked = true;
    try {
      this.res.cork(fn);
    } finally {
      this.corked = false;
    }
    return this;
  }

  subscribe(topic: string): boolean {
    return !this.done && this.registry.subscribe(topic, this);
  }

  unsubscribe(topic: string): boolean {
    return this.registry.unsubscribe(topic, this);
  }

  getBufferedAmount(): number {
    return this.heldBytes + this.pendingBytes + this.stalledBytes;
  }

  /** The turn is over: what it wrote leaves in one write. */
  release(): void {
    if (this.done || this.held.length === 0) return;
    const chunks = this.held;
    const bytes = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    const chunk = chunks.length === 1 ? (chunks[0] as Chunk) : joinChunks(chunks);
    let written = false;
    try {
      this.cork(() => {
        written = this.res.write(chunk);
      });
    } catch {
      // Gone without its abort seen yet: the streams released after this one must still go.
      this.finish(ABNORMAL_CLOSURE, true);
      return;
    }
    if (!written) this.stalledBytes = bytes;
  }

  /** A batch (docs/protocol.md §6.14, opt-in) moves the positions of the events inside it. */
  private trackBatch(message: string): string | undefined {
    const { frames } = JSON.parse(message) as { frames: { type?: string; channel?: string; id?: string }[] };
    let moved = false;
    for (const frame of frames)
      if (frame.type === 'event' && typeof frame.channel === 'string' && typeof frame.id === 'string') {
        this.positions.set(frame.channel, frame.id);
        moved = true;
      }
    if (!moved) return undefined;
    this.forgetLeft();
    return positionsId(this.positions);
  }

  private track(head: EventHead | undefined): string | undefined {
    if (!head) return undefined;
    this.positions.set(head.channel, head.id);
    this.forgetLeft(head.channel);
    return positionsId(this.positions);
  }

  /**
   * Drop the positions of channels the session no longer holds (unsubscribed, or dropped on
   * a token refresh): the `id` — and the `Last-Event-ID` a reconnecting EventSource sends —
   * would otherwise grow with every channel the stream ever delivered, past what a hello may
   * carry. `delivering` is kept: its event is on its way whatever the session holds now.
   * Walked only when the positions outnumber the channels held, so a delivery costs nothing
   * more while nothing was left (the `id` then names at most one channel more than held).
   */
  private forgetLeft(delivering?: string): void {
    const held = this.conn.subscriptions;
    if (this.positions.size <= held.size) return;
    for (const channel of this.positions.keys())
      if (channel !== delivering && !held.has(channel)) this.positions.delete(channel);
  }

  /** `text` as it goes on the wire; `shared`: the same text for many streams, compressed once. */
  private encode(text: string, shared?: SharedText): Chunk {
    return this.gzip ? this.gzip.encode(text, shared) : text;
  }

  private write(text: string, shared?: SharedMessage): number {
    if (this.done) return SEND_DROPPED;
    const chunk = this.encode(text, shared);
    const bytes = typeof chunk === 'string' ? (shared?.bytes ?? Buffer.byteLength(chunk)) : chunk.length;
    if (this.getBufferedAmount() + bytes > this.maxBackpressure) {
      // Not queued. Unlike a WebSocket's close frame, the close event needs no room under a
      // limit: the stream ends coded (4008, counted) after what it holds, never cut unsaid.
      this.conn.close('SLOW_CONSUMER');
      this.close(); // a no-op once that ended it; a cut when the connection was closing already
      return SEND_DROPPED;
    }
    this.lastWriteAt = Date.now();
    if (this.pending.length > 0 || this.stalledBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += bytes;
      return SEND_BUFFERED;
    }
    if (this.held.length === 0) this.registry.hold(this);
    this.held.push(chunk);
    this.heldBytes += bytes;
    if (this.heldBytes >= MAX_HELD_BYTES) this.release();
    return SEND_SENT; // as a send inside uWS's cork: what the edge cannot take shows as buffered later
  }

  private flushPending(): void {
    if (this.done) return;
    this.stalledBytes = 0;
    while (this.pending.length > 0) {
      const chunk = this.pending.shift() as Chunk;
      const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.pendingBytes -= bytes;
      if (!this.res.write(chunk)) {
        this.stalledBytes = bytes;
        return;
      }
    }
    this.conn.onDrain();
  }

  /** The stream is over: leave every topic, then tell the connection (at once, as uWS's close handler). */
  private finish(code: number, aborted: boolean): void {
    if (this.done) return;
    this.done = true;
    if (aborted) this.res.aborted = true;
    this.held = [];
    this.heldBytes = 0;
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.stalledBytes = 0;
    this.registry.forget(this);
    this.conn.onClose(code);
  }
}

/** One chunk for the wire: text stays text; a gzip stream's bytes are joined. */
function joinChunks(chunks: Chunk[]): Chunk {
  if (typeof chunks[0] === 'string') return chunks.join('');
  return Buffer.concat(chunks as Buffer[]);
}
