/**
 * One socket at a time — a WebSocket, or the SSE fallback (sse-socket.ts) behind the same
 * interface. Each `open()` starts a new generation; callbacks from
 * a socket of an older generation (one we already gave up on) are ignored, so a
 * late `close` from a dead socket can never disturb the connection that replaced it.
 * What `open()` was given for a generation (its token) reaches only that generation's
 * `opened`, so a token fetched for an abandoned attempt cannot leak into a newer hello.
 * Within a generation, the transports of `TransportChoice.plan()` are tried in turn: a
 * WebSocket that closes before it opens, or has not opened after `upgradeTimeoutMs`, is
 * dropped for the next one, and only the last one's failure is reported — unless the gateway
 * said why it refused the upgrade with a code retrying cannot cure (upgrade-refusal.ts): that
 * ends the attempt, reported as a close with that code as its reason.
 */
import type { LineActivity } from './shared.ts';
import { SseSocket } from './sse-socket.ts';
import type { TransportChoice, TransportName } from './transport-choice.ts';
import { watchUpgradeRefusal } from './upgrade-refusal.ts';
import {
  CLOSED,
  OPEN,
  resolveWebSocket,
  type WebSocketConstructor,
  type WebSocketLike,
} from './websocket-like.ts';

/** The close code a coded HTTP refusal is reported with (RFC 6455 §7.4.1: policy violation). */
const REFUSED = 1008;
/**
 * How long a graceful close (`bye`) may wait for its handshake, or the SSE link for its last
 * POST, before the socket is dropped: on a dead line neither ever completes (`ws` would wait
 * 30 s, an SSE POST for ever), holding a Node process open after disconnect().
 */
const CLOSE_GRACE_MS = 2000;

/** Where each transport is, and how long a WebSocket may take to open before the next is tried. */
export interface LinkEndpoints {
  url: string;
  sseUrl: string;
  upgradeTimeoutMs: number;
}

export interface SocketLinkHandlers<Prepared> {
  /** The socket is open: send hello now, with what `open()` prepared for this very socket. */
  opened(prepared: Prepared): void;
  text(data: string): void;
  /** `wasOpen` false: the socket never opened (refused, unreachable, upgrade refused). */
  closed(code: number, reason: string, wasOpen: boolean): void;
  /** The socket could not even be created (constructor, URL). */
  failed(error: unknown): void;
}

export class SocketLink<Prepared> {
  private socket: WebSocketLike | undefined;
  private generation = 0;
  /** The current attempt's wait for a stalled upgrade: cleared by close(), or it holds Node open. */
  private stall: ReturnType<typeof setTimeout> | undefined;
  /** The transport of the open socket. */
  transport: TransportName | undefined;
  /** When a frame last came and went: the heartbeat's evidence (machines/client.machine.ts). */
  readonly activity: LineActivity = { heardAt: 0, sentAt: 0 };

  constructor(
    private readonly endpoints: LinkEndpoints,
    private readonly WebSocketImpl: WebSocketConstructor | undefined,
    private readonly choice: TransportChoice,
    private readonly handlers: SocketLinkHandlers<Prepared>,
  ) {}

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** Open a socket for `prepared` (e.g. its token) — unless `close()` comes first. */
  open(prepared: Prepared): void {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    const plan = this.choice.plan();
    const attempt = async (index: number): Promise<void> => {
      const transport = plan[index] as TransportName;
      const hasNext = index < plan.length - 1;
      const create = await this.constructorFor(transport);
      if (!current()) return; // closed while `ws` loaded: open nothing
      const ws = create();
      this.socket = ws;
      let wasOpen = false;
      let abandoned = false;
      let refusal: string | undefined;
      if (transport === 'websocket') watchUpgradeRefusal(ws, (code) => (refusal = code));
      // A stalled upgrade (a proxy that holds it) is given up for the next transport.
      const stall = hasNext
        ? setTimeout(() => {
            if (live()) fallBack();
          }, this.endpoints.upgradeTimeoutMs)
        : undefined;
      this.stall = stall;
      const fallBack = () => {
        abandoned = true;
        clearTimeout(stall);
        drop(ws);
        attempt(index + 1).catch(failed);
      };
      const live = (): boolean => current() && !abandoned;
      ws.onopen = () => {
        if (!live()) return;
        clearTimeout(stall);
        wasOpen = true;
        this.transport = transport;
        this.choice.worked(transport);
        this.handlers.opened(prepared);
      };
      ws.onmessage = (event) => {
        if (!live()) return;
        this.activity.heardAt = Date.now();
        if (typeof event.data === 'string') this.handlers.text(event.data);
      };
      ws.onclose = (event) => {
        if (!live()) return;
        clearTimeout(stall);
        if (!wasOpen && hasNext && !refusal) {
          fallBack();
          return;
        }
        this.generation++;
        this.socket = undefined;
        this.transport = undefined;
        if (refusal) this.handlers.closed(REFUSED, refusal, false);
        else this.handlers.closed(event.code, event.reason, wasOpen);
      };
      ws.onerror = () => {}; // a close event with the code follows
    };
    const failed = (error: unknown) => {
      if (!current()) return;
      this.generation++;
      this.handlers.failed(error);
    };
    attempt(0).catch(failed);
  }

  /** How to open `transport`'s socket, once its implementation is loaded: opening it is the caller's call. */
  private async constructorFor(transport: TransportName): Promise<() => WebSocketLike> {
    if (transport === 'sse') return () => new SseSocket(this.endpoints.sseUrl);
    const Impl = await resolveWebSocket(this.WebSocketImpl);
    return () => new Impl(this.endpoints.url);
  }

  /** false when there is no open socket to send on. */
  send(frame: unknown): boolean {
    const ws = this.socket;
    if (ws?.readyState !== OPEN) return false;
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    this.activity.sentAt = Date.now();
    return true;
  }

  /**
   * Stop listening and close. `graceful` sends `bye` first (the gateway ends the
   * session); otherwise the session stays resumable on the server.
   */
  close(graceful: boolean): void {
    this.generation++;
    clearTimeout(this.stall);
    const ws = this.socket;
    this.socket = undefined;
    this.transport = undefined;
    if (!ws) return;
    try {
      if (graceful && ws.readyState === OPEN) {
        ws.send(JSON.stringify({ type: 'bye' }));
        ws.close(1000, 'bye');
        const { terminate } = ws;
        if (terminate) {
          const drop = setTimeout(() => {
            if (ws.readyState !== CLOSED) terminate.call(ws);
          }, CLOSE_GRACE_MS);
          // Only the socket may keep Node up: a close that completes at once exits at once.
          (drop as { unref?: () => void }).unref?.();
        }
      } else if (ws.terminate) {
        ws.terminate();
      } else {
        ws.close(1000, 'client gave up on this socket');
      }
    } catch {
      // Already closing: nothing left to do.
    }
  }
}

/** Give up on a socket that is not open yet: no close handshake to wait for. */
function drop(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => {}; // `ws` emits an error for a socket ended while connecting: not a crash
  try {
    if (ws.terminate) ws.terminate();
    else ws.close();
  } catch {
    // Not yet connected: the browser's WebSocket may refuse to close; it is ignored either way.
  }
}
