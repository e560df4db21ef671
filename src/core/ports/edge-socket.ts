/**
 * The socket as the core sees it: the part of a uWebSockets.js `WebSocket` that
 * Tether uses, so a uWS socket is one as it is and another edge (src/edge/) only
 * has to behave the same. `send` returns the backpressure signal: 1 sent,
 * 0 buffered, 2 dropped (past the edge's hard limit; the socket is being cut).
 */

/** How a client reached us: a WebSocket, or the server-sent events fallback (src/edge/sse/). */
export type Transport = 'websocket' | 'sse';

export interface EdgeSocket {
  send(message: string, isBinary?: boolean, compress?: boolean): number;
  /** Close with a code and reason (a close frame is sent). */
  end(code?: number, reason?: string): void;
  /** Cut the connection without a close frame. */
  close(): void;
  /** Run `fn` with the socket's writes batched into one system call. */
  cork(fn: () => void): unknown;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  /** Bytes queued for this socket that the kernel has not taken yet. */
  getBufferedAmount(): number;
}

export const SEND_SENT = 1;
export const SEND_BUFFERED = 0;
export const SEND_DROPPED = 2;
