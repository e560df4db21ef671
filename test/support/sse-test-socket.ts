/**
 * The SDK's SSE transport (packages/client/src/sse-socket.ts) behind the part of the `ws`
 * package's API that TestClient uses, so every protocol test can run over both transports:
 * `TestClient.connect(gw.sseUrl)` speaks SSE + POST, `TestClient.connect(gw.url)` WebSocket.
 */
import { EventEmitter } from 'node:events';
import { SseSocket } from '../../packages/client/src/sse-socket.ts';

export type Transport = 'websocket' | 'sse';
const ALL_TRANSPORTS: Transport[] = ['websocket', 'sse'];
/**
 * Both, or those TEST_TRANSPORTS names: the Redis-topology projects run one, as the
 * transport is not what varies there (vitest.config.ts).
 */
export const TRANSPORTS: Transport[] = process.env.TEST_TRANSPORTS
  ? ALL_TRANSPORTS.filter((t) => process.env.TEST_TRANSPORTS?.split(',').includes(t))
  : ALL_TRANSPORTS;

/** The gateway's endpoint for `transport`. */
export function endpoint(gw: { url: string; sseUrl: string }, transport: Transport): string {
  return transport === 'sse' ? gw.sseUrl : gw.url;
}

export class SseTestSocket extends EventEmitter {
  readonly socket: SseSocket;
  /** Resolves the wait of a paused stream. */
  private unpause: (() => void) | undefined;
  private paused: Promise<void> | undefined;

  constructor(url: string, headers: Record<string, string> = {}, fetchImpl: typeof fetch = fetch) {
    super();
    const { 'last-event-id': lastEventId, ...streamHeaders } = headers;
    this.socket = new SseSocket(url, { lastEventId, fetch: this.gated(fetchImpl, streamHeaders) });
    let opened = false;
    this.socket.onopen = () => {
      opened = true;
      this.emit('open');
    };
    this.socket.onmessage = ({ data }) => this.emit('message', Buffer.from(String(data)));
    this.socket.onclose = ({ code, reason }) => {
      if (!opened) this.emit('error', new Error(`SSE stream refused: ${reason}`));
      this.emit('close', code, Buffer.from(reason));
    };
  }

  send(data: string | Buffer): void {
    this.socket.send(String(data));
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }

  /** Stop reading the stream: the client's buffers fill, then the kernel's, then the gateway's. */
  pause(): void {
    this.paused ??= new Promise((resolve) => {
      this.unpause = resolve;
    });
  }

  resume(): void {
    this.unpause?.();
    this.paused = undefined;
  }

  /**
   * `fetchImpl` with the stream's body read only while not paused, and `streamHeaders`
   * (`x-correlation-id`, …) on the stream's GET, as a WebSocket client sends them on its upgrade.
   */
  private gated(fetchImpl: typeof fetch, streamHeaders: Record<string, string>): typeof fetch {
    return async (input, init) => {
      if (init?.method === 'POST') return fetchImpl(input, init);
      const headers = { ...(init?.headers as Record<string, string>), ...streamHeaders };
      const response = await fetchImpl(input, { ...init, headers });
      if (!response.body) return response;
      const gate = new TransformStream<Uint8Array, Uint8Array>(
        {
          transform: async (chunk, controller) => {
            await this.paused;
            controller.enqueue(chunk);
          },
        },
        { highWaterMark: 1 },
        { highWaterMark: 0 },
      );
      return new Response(response.body.pipeThrough(gate), {
        status: response.status,
        headers: response.headers,
      });
    };
  }
}
