/**
 * One WebSocket at a time. Each `open()` starts a new generation; callbacks from
 * a socket of an older generation (one we already gave up on) are ignored, so a
 * late `close` from a dead socket can never disturb the connection that replaced it.
 * What `open()` was given for a generation (its token) reaches only that generation's
 * `opened`, so a token fetched for an abandoned attempt cannot leak into a newer hello.
 */
import { OPEN, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './websocket-like.ts';

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

  constructor(
    private readonly url: string,
    private readonly WebSocketImpl: WebSocketConstructor | undefined,
    private readonly handlers: SocketLinkHandlers<Prepared>,
  ) {}

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** Open a socket for `prepared` (e.g. its token) — unless `close()` comes first. */
  open(prepared: Prepared): void {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    let wasOpen = false;
    const run = async () => {
      const Impl = await resolveWebSocket(this.WebSocketImpl);
      if (!current()) return;
      const ws = new Impl(this.url);
      this.socket = ws;
      ws.onopen = () => {
        wasOpen = true;
        if (current()) this.handlers.opened(prepared);
      };
      ws.onmessage = (event) => {
        if (current() && typeof event.data === 'string') this.handlers.text(event.data);
      };
      ws.onclose = (event) => {
        if (!current()) return;
        this.generation++;
        this.socket = undefined;
        this.handlers.closed(event.code, event.reason, wasOpen);
      };
      ws.onerror = () => {}; // a close event with the code follows
    };
    run().catch((error) => {
      if (!current()) return;
      this.generation++;
      this.handlers.failed(error);
    });
  }

  /** false when there is no open socket to send on. */
  send(frame: unknown): boolean {
    const ws = this.socket;
    if (ws?.readyState !== OPEN) return false;
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    return true;
  }

  /**
   * Stop listening and close. `graceful` sends `bye` first (the gateway ends the
   * session); otherwise the session stays resumable on the server.
   */
  close(graceful: boolean): void {
    this.generation++;
    const ws = this.socket;
    this.socket = undefined;
    if (!ws) return;
    try {
      if (graceful && ws.readyState === OPEN) {
        ws.send(JSON.stringify({ type: 'bye' }));
        ws.close(1000, 'bye');
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
