/**
 * Why a WebSocket upgrade was refused, where that can be known. A browser shows a refused
 * upgrade only as a close with 1006 — no status, no body — so there it cannot be told from a
 * network error (the SSE fallback's fetch can: sse-socket.ts). The `ws` package in Node hands
 * the HTTP response to an `unexpected-response` listener: the gateway's body names the code
 * (`{"error":"ORIGIN_NOT_ALLOWED"}`), and one that retrying cannot cure ends the client.
 */
import { type ErrorCode, errorSpec, isErrorCode } from './shared.ts';
import type { WebSocketLike } from './websocket-like.ts';

/** The part of Node's IncomingMessage read here (no Node types in a browser package). */
interface RefusalResponse {
  on(event: 'data', listener: (chunk: { toString(): string }) => void): void;
  on(event: 'end' | 'error', listener: () => void): void;
}

interface NodeWebSocket {
  on(event: 'unexpected-response', listener: (req: unknown, res: RefusalResponse) => void): void;
}

/**
 * Call `refused` with the code of a refusal that retrying cannot cure, before the socket's
 * close (1006) is reported; any other refused upgrade ends as it did without this (1006).
 */
export function watchUpgradeRefusal(ws: WebSocketLike, refused: (code: ErrorCode) => void): void {
  const node = ws as unknown as Partial<NodeWebSocket>;
  if (typeof node.on !== 'function') return; // the browser's WebSocket: nothing to read
  node.on('unexpected-response', (_req, res) => {
    let body = '';
    const done = () => {
      const code = codeOf(body);
      if (code && !errorSpec(code).retryable) refused(code);
      ws.terminate?.(); // with a listener, `ws` leaves ending the handshake to us
    };
    res.on('data', (chunk) => {
      body += chunk.toString();
    });
    res.on('end', done);
    res.on('error', done);
  });
}

function codeOf(body: string): ErrorCode | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return typeof error === 'string' && isErrorCode(error) ? error : undefined;
  } catch {
    return undefined;
  }
}
