/**
 * A client that stops reading, as a stalled consumer does: the kernel buffers fill, then
 * the gateway's. Over WebSocket the TCP socket under `ws` is paused; over SSE the stream.
 */
import { SseTestSocket } from './sse-test-socket.ts';
import type { TestClient } from './ws-client.ts';

type Pausable = { pause(): void; resume(): void };

function readerOf(client: TestClient): Pausable {
  if (client.ws instanceof SseTestSocket) return client.ws;
  return (client.ws as unknown as { _socket: Pausable })._socket;
}

export function pauseReading(client: TestClient): void {
  readerOf(client).pause();
}

export function resumeReading(client: TestClient): void {
  readerOf(client).resume();
}
