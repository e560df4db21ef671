/**
 * One `app.ws(pattern, behavior)` of the portable edge: a `ws` server without a
 * listener of its own (the app's HTTP server hands it upgrades), its sockets and
 * their heartbeat. ws's per-message handlers are shared functions, not closures
 * per socket: idle connections are what a gateway holds most of.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { deflateOptions } from '../compression.ts';
import { PROTOCOL_CUT, type WebSocketBehavior } from '../edge-port.ts';
import { EdgeSocket, type SocketRoute } from './edge-socket.ts';
import { IdleSweeper } from './idle-sweeper.ts';
import type { Topics } from './topics.ts';

/** uWS's defaults for what the behavior leaves out. */
const DEFAULT_MAX_PAYLOAD = 16 * 1024;
const DEFAULT_IDLE_TIMEOUT_S = 120;

const EDGE = Symbol('edge socket');
type Tagged = WsSocket & { [EDGE]: EdgeSocket<unknown> };
/** ws's frame parser (internal), tagged with its socket. */
type Receiver = EventEmitter & { [EDGE]?: EdgeSocket<unknown> };

export class WsRoute<UserData> implements SocketRoute<UserData> {
  private readonly sockets = new Set<EdgeSocket<UserData>>();
  private readonly sweeper: IdleSweeper<UserData>;
  private readonly server: WebSocketServer;
  /** The subprotocol the upgrade handler chose for a request, answered in the handshake. */
  private readonly protocols = new WeakMap<IncomingMessage, string>();

  constructor(
    readonly behavior: WebSocketBehavior<UserData>,
    readonly topics: Topics,
  ) {
    this.sweeper = new IdleSweeper(
      behavior.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_S,
      behavior.sendPingsAutomatically ?? true,
      this.sockets,
    );
    this.server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: deflateOptions(behavior.compression),
      maxPayload: behavior.maxPayloadLength ?? DEFAULT_MAX_PAYLOAD,
      // Pings are answered by EdgeSocket.answerPing, as uWS answers them (a send, held to
      // maxBackpressure), not by ws, which cuts a socket (1006, unsaid) with 60 pongs unwritten:
      // a burst of pings in one TCP read. A flood is the gateway's to close (behavior.ping).
      autoPong: false,
      handleProtocols: (_offered, request) => this.protocols.get(request) || false,
    });
  }

  now(): number {
    return this.sweeper.now();
  }

  forget(ws: EdgeSocket<UserData>): void {
    this.sockets.delete(ws);
  }

  /**
   * Complete the handshake (ws answers 400 itself to a malformed one) and open the socket.
   * `protocol` is what the upgrade handler passed, often the request's whole
   * `Sec-WebSocket-Protocol` list: one is chosen from it, as uWS does (firstProtocol).
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, userData: UserData, protocol: string): void {
    if (socket.destroyed) return;
    const chosen = firstProtocol(protocol);
    if (chosen) this.protocols.set(req, chosen);
    this.server.handleUpgrade(req, socket, head, (raw) => this.open(raw, socket as Socket, userData));
  }

  private open(raw: WsSocket, socket: Socket, userData: UserData): void {
    raw.binaryType = 'arraybuffer';
    const ws = new EdgeSocket(raw, socket, userData, this);
    (raw as Tagged)[EDGE] = ws as EdgeSocket<unknown>;
    (socket as Socket & { [EDGE]?: EdgeSocket<unknown> })[EDGE] = ws as EdgeSocket<unknown>;
    socket.once('end', onPeerGone);
    socket.once('error', onPeerGone);
    raw.on('message', onMessage);
    raw.on('ping', onPing);
    raw.on('pong', onPong);
    raw.on('close', onClose);
    raw.on('error', onError);
    watchReceiver(raw, ws as EdgeSocket<unknown>);
    this.sockets.add(ws);
    this.sweeper.ensureRunning();
    this.behavior.open?.(ws);
  }
}

function onMessage(this: WsSocket, data: ArrayBuffer, isBinary: boolean): void {
  const ws = (this as Tagged)[EDGE];
  if (!ws.isOpen) return; // after end(): uWS ignores what still arrives
  ws.seen();
  ws.route.behavior.message?.(ws, data, isBinary);
}

/** uWS's order: the pong goes out, then the behavior hears of the ping. */
function onPing(this: WsSocket, data: Buffer): void {
  const ws = (this as Tagged)[EDGE];
  if (!ws.isOpen) return;
  ws.seen();
  ws.answerPing(data);
  if (ws.isOpen) ws.route.behavior.ping?.(ws, new Uint8Array(data).buffer);
}

function onPong(this: WsSocket, data: Buffer): void {
  const ws = (this as Tagged)[EDGE];
  if (!ws.isOpen) return;
  ws.seen();
  ws.route.behavior.pong?.(ws, new Uint8Array(data).buffer);
}

/**
 * Two uWS behaviours need ws's frame parser (its receiver: not public API; without
 * it, ws's own behaviour applies — docs/edge.md):
 * - uWS runs the close handler when the peer's close frame arrives; ws's `close`
 *   event waits for the TCP connection to end, after the peer has seen the reply.
 *   `conclude` keeps uWS's order: a client that saw its close complete finds the
 *   server already knowing.
 * - On a protocol error (a frame over maxPayload, invalid UTF-8…) uWS cuts the
 *   connection (the client sees 1006) where ws would send a close frame (1009,
 *   1007…). Listening before ws does, the socket is cut before that frame is written.
 */
function watchReceiver(raw: WsSocket, ws: EdgeSocket<unknown>): void {
  const receiver = (raw as unknown as { _receiver?: Receiver })._receiver;
  if (!receiver) return;
  receiver[EDGE] = ws;
  receiver.on('conclude', onCloseFrame);
  receiver.prependListener('error', onProtocolError);
}

function onCloseFrame(this: { [EDGE]: EdgeSocket<unknown> }, code: number, reason: Buffer): void {
  this[EDGE].closed(code, reason);
}

function onProtocolError(this: { [EDGE]: EdgeSocket<unknown> }, error: Error & { code?: string }): void {
  this[EDGE].cut(UWS_WORDING[error.code ?? ''] ?? error.message);
}

/** ws's error codes (lib/receiver.js) for the cuts uWS names: the gateway reads the name. */
const UWS_WORDING: Record<string, string> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: PROTOCOL_CUT.tooBig,
  WS_ERR_INVALID_UTF8: PROTOCOL_CUT.invalidUtf8,
};

/**
 * The peer ended TCP without a close frame (FIN), or reset it: uWS takes either as
 * the end at once (1006). ws's own `close` comes a loop turn later, after the socket
 * handle is closed — late enough for a request sent right after to see the socket open.
 */
function onPeerGone(this: { [EDGE]: EdgeSocket<unknown> }): void {
  this[EDGE].closed(1006, Buffer.alloc(0));
}

function onClose(this: WsSocket, code: number, reason: Buffer): void {
  (this as Tagged)[EDGE].closed(code, reason);
}

/** Any other failure of the socket: the close handler gets 1006 and why, as from uWS. */
function onError(this: WsSocket, error: Error): void {
  (this as Tagged)[EDGE].closed(1006, Buffer.from(error.message));
}

/**
 * The subprotocol answered for `protocol` as uWS answers it: the first of a comma-separated
 * list. The handshake answer names one protocol the client offered (RFC 6455 §4.2.2); a list
 * (`a, b`) fails every client's handshake, so a client offering two could not connect.
 */
export function firstProtocol(protocol: string): string {
  const comma = protocol.indexOf(',');
  return (comma < 0 ? protocol : protocol.slice(0, comma)).trim();
}
