/**
 * A uWS-shaped WebSocket over a `ws` socket: uWS's send results, backpressure
 * limit and close semantics, so the gateway cannot tell the edges apart:
 * - `send` drops (returns 2) when more than `maxBackpressure` bytes wait, and with
 *   `closeOnBackpressureLimit` the socket is then cut without a close frame (1006)
 *   just after the current handler, as uWS does;
 * - `end` and `close` run the `close` handler at once; after it returns the socket
 *   throws on use, like a closed uWS socket;
 * - `drain` runs when written data leaves the buffer after a send reported backpressure.
 */
import type { Socket } from 'node:net';
import type { WebSocket as WsSocket } from 'ws';
import { SEND_BUFFERED, SEND_DROPPED, SEND_SENT } from '../../core/ports/edge-socket.ts';
import type { RecognizedString, WebSocket, WebSocketBehavior } from '../edge-port.ts';
import { MAX_HELD_BYTES } from '../turn-end.ts';
import { bytesOf, textOf } from './http-adapters.ts';
import type { Topics } from './topics.ts';

/** RFC 6455 §5.5: a close frame's reason fits in 123 bytes. */
const MAX_CLOSE_REASON = 123;
const OPEN = 0;
const IN_CLOSE_HANDLER = 1;
const CLOSED = 2;

/** What a socket shares with the others of its route. */
export interface SocketRoute<UserData> {
  readonly behavior: WebSocketBehavior<UserData>;
  readonly topics: Topics;
  /** The route's coarse clock (ms), advanced by its idle sweeper. */
  now(): number;
  forget(ws: EdgeSocket<UserData>): void;
}

export class EdgeSocket<UserData> implements WebSocket<UserData> {
  /** When the peer last sent anything (route clock). */
  lastSeen: number;
  /** When the heartbeat pinged a silent peer (0: not pinged since it last spoke). */
  pingedAt = 0;
  topics: Set<string> | undefined;
  private state = OPEN;
  /** Bytes buffered when backpressure was last seen (0: none): a drain is a drop below it. */
  private pressure = 0;
  private doomed = false;
  private holding = false;
  private readonly flushed = () => this.onFlushed();
  /** Read now: Node cannot tell a closed socket's peer any more. */
  private readonly address: string;

  constructor(
    readonly raw: WsSocket,
    /** The TCP socket under `raw`, as the HTTP server handed it over. */
    private readonly socket: Socket,
    private readonly userData: UserData,
    readonly route: SocketRoute<UserData>,
  ) {
    this.lastSeen = route.now();
    this.address = socket.remoteAddress ?? '';
  }

  send(message: RecognizedString, isBinary = false, compress = false): number {
    this.usable();
    return this.sendData(typeof message === 'string' ? message : bytesOf(message), isBinary, compress);
  }

  /** A topic publish to a socket that negotiated permessage-deflate (`deflates`). */
  sendData(data: string | Uint8Array, isBinary: boolean, compress: boolean): number {
    if (this.dropping()) return SEND_DROPPED;
    this.raw.send(data, { binary: isBinary, compress, fin: true }, this.flushed);
    return this.sent();
  }

  /**
   * The pong a ping gets, sent as uWS sends it: like any frame, so past maxBackpressure it is
   * dropped and the socket doomed (a peer that pings and never reads cannot grow the buffer).
   */
  answerPing(data: Buffer): void {
    if (this.dropping()) return;
    this.raw.pong(data, false, this.flushed);
    this.sent();
  }

  /**
   * A topic publish: one frame made once for every subscriber, written straight to
   * the TCP socket. Only for a socket that does not deflate: then ws writes each
   * frame to the socket at once, so the order on the wire is the order of the calls;
   * one that does queues frames behind its compressor, so a publish goes that way too.
   */
  writeFrame(frame: Uint8Array): number {
    if (this.dropping()) return SEND_DROPPED;
    this.socket.write(frame, this.flushed);
    if (!this.holding) return this.sent();
    // Held bytes are counted at `release`; like uWS's cork buffer, a full hold leaves early.
    if (this.socket.writableLength >= MAX_HELD_BYTES) {
      this.socket.uncork();
      this.socket.cork();
    }
    return SEND_SENT;
  }

  /** Whether writes wait in the socket for `release` (src/edge/ws-edge/topics.ts). */
  get held(): boolean {
    return this.holding;
  }

  hold(): void {
    this.holding = true;
    this.socket.cork();
  }

  /** What was held leaves in one write; bytes the kernel did not take are backpressure. */
  release(): void {
    this.holding = false;
    this.socket.uncork();
    if (this.state === OPEN) this.sent();
  }

  /** The peer and the route agreed on permessage-deflate. */
  get deflates(): boolean {
    return this.raw.extensions !== '';
  }

  /** uWS's rule: past maxBackpressure the message is dropped (and the socket doomed). */
  private dropping(): boolean {
    if (!this.overLimit()) return false;
    if (this.route.behavior.closeOnBackpressureLimit) this.doom();
    return true;
  }

  private sent(): number {
    const buffered = this.raw.bufferedAmount;
    if (buffered === 0) return SEND_SENT;
    this.pressure = buffered;
    return SEND_BUFFERED;
  }

  getBufferedAmount(): number {
    this.usable();
    return this.raw.bufferedAmount;
  }

  end(code?: number, shortMessage?: RecognizedString): void {
    this.usable();
    const reason = Buffer.from(shortMessage === undefined ? '' : textOf(shortMessage)).subarray(
      0,
      MAX_CLOSE_REASON,
    );
    // A close frame past the backpressure limit would be dropped by uWS: the peer sees 1006.
    if (this.overLimit()) this.raw.terminate();
    else this.raw.close(code, reason);
    this.closed(code ?? 1005, reason);
  }

  close(): void {
    this.usable();
    this.raw.terminate();
    this.closed(1006, Buffer.alloc(0));
  }

  subscribe(topic: RecognizedString): boolean {
    this.usable();
    this.route.topics.subscribe(textOf(topic), this);
    return true;
  }

  unsubscribe(topic: RecognizedString): boolean {
    this.usable();
    return this.route.topics.unsubscribe(textOf(topic), this);
  }

  /** The frames `cb` sends leave in one system call. */
  cork(cb: () => void): WebSocket<UserData> {
    this.usable();
    this.socket.cork();
    try {
      cb();
    } finally {
      this.socket.uncork();
    }
    return this;
  }

  getUserData(): UserData {
    if (this.state === CLOSED) this.usable();
    return this.userData;
  }

  getRemoteAddressAsText(): ArrayBuffer {
    this.usable();
    const bytes = Buffer.from(this.address);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  get isOpen(): boolean {
    return this.state === OPEN;
  }

  /** The peer spoke (any frame): the heartbeat starts over. */
  seen(): void {
    this.lastSeen = this.route.now();
    this.pingedAt = 0;
  }

  /** The heartbeat's verdict: cut, as uWS does, with the same close handler arguments. */
  timedOut(): void {
    if (this.state !== OPEN) return;
    this.raw.terminate();
    this.closed(1006, Buffer.from('WebSocket timed out from inactivity'));
  }

  /** A protocol error: cut without a close frame, as uWS does (the peer sees 1006). */
  cut(reason: string): void {
    if (this.state !== OPEN) return;
    this.socket.destroy();
    this.closed(1006, Buffer.from(reason));
  }

  /** The connection ended by the peer or the network. */
  closed(code: number, reason: Buffer): void {
    if (this.state !== OPEN) return;
    this.state = IN_CLOSE_HANDLER;
    this.route.topics.unsubscribeAll(this);
    this.route.forget(this);
    try {
      this.route.behavior.close?.(this, code, new Uint8Array(reason).buffer);
    } finally {
      this.state = CLOSED;
    }
  }

  private overLimit(): boolean {
    const max = this.route.behavior.maxBackpressure;
    return this.doomed || Boolean(max && max < this.raw.bufferedAmount);
  }

  /** uWS shuts a socket whose message was dropped after the handler that sent it returns. */
  private doom(): void {
    if (this.doomed) return;
    this.doomed = true;
    setImmediate(() => {
      if (this.state !== OPEN) return;
      this.raw.terminate();
      this.closed(1006, Buffer.alloc(0));
    });
  }

  /** A write left the buffer (or a sync write's callback came late: then nothing drained). */
  private onFlushed(): void {
    if (this.pressure === 0 || this.state !== OPEN) return;
    const buffered = this.raw.bufferedAmount;
    if (buffered >= this.pressure) return;
    this.pressure = buffered;
    this.route.behavior.drain?.(this);
  }

  private usable(): void {
    if (this.state === CLOSED) throw new Error('Invalid access of closed uWS.WebSocket/SSLWebSocket.');
  }
}
