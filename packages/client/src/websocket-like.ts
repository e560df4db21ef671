/**
 * The slice of the WebSocket API the SDK uses — the browser's and the `ws`
 * package's both fit — and how the implementation is found.
 */
import { adaptNodeWebSocket, type WebSocketClass } from './node-websocket.ts';

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  /** `ws` only: drop the TCP connection without a closing handshake. */
  terminate?: () => void;
}

/** Any constructor taking a URL: the browser's `WebSocket`, `ws`'s default export, a test double. */
export type WebSocketConstructor = abstract new (url: string) => object;

export const OPEN = 1;
export const CLOSED = 3;

/**
 * The given constructor, else the global one, else `ws` loaded on demand. The
 * specifier is a variable so browser bundlers leave the import alone. Node's global one
 * is adapted where it falls short (node-websocket.ts).
 */
export async function resolveWebSocket(
  given?: WebSocketConstructor,
): Promise<new (url: string) => WebSocketLike> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const found = given ?? global;
  if (found) {
    const Impl = found === global ? adaptNodeWebSocket(found as WebSocketClass) : found;
    return Impl as unknown as new (
      url: string,
    ) => WebSocketLike;
  }
  const specifier = 'ws';
  try {
    const module = (await import(/* @vite-ignore */ specifier)) as { default: unknown };
    return module.default as new (
      url: string,
    ) => WebSocketLike;
  } catch (error) {
    throw new TypeError(
      'No WebSocket implementation: pass options.WebSocket (e.g. the `ws` package) or run where globalThis.WebSocket exists.',
      { cause: error },
    );
  }
}
