/**
 * The SDK's SSE link once the gateway has let its stream go (packages/client/src/sse-socket.ts,
 * docs/client.md): a POST answered 404 SSE_CONNECTION_UNKNOWN is followed by reading the stream
 * on to its close event, and a stream that never ends is given up (1006) after the idle timeout
 * its `open` event named: never read for good.
 */
import { describe, expect, it } from 'vitest';
import { SseSocket } from '../../packages/client/src/sse-socket.ts';

const IDLE_TIMEOUT_MS = 300;

/** A gateway that has ended the stream: its GET is still coming down, every POST finds no stream. */
function endedGateway() {
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream = controller;
    },
  });
  const write = (text: string) => stream?.enqueue(new TextEncoder().encode(text));
  const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
    if (init?.method === 'POST')
      return new Response('{"error":"SSE_CONNECTION_UNKNOWN"}', {
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };
  write(`event: open\ndata: {"connection":"c","idleTimeoutMs":${IDLE_TIMEOUT_MS}}\n\n`);
  return { fetch: fetch as typeof globalThis.fetch, write, end: () => stream?.close() };
}

function opened(socket: SseSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.onopen = () => resolve();
  });
}

function closed(socket: SseSocket): Promise<{ code: number; reason: string; afterMs: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    socket.onclose = ({ code, reason }) => resolve({ code, reason, afterMs: performance.now() - started });
  });
}

describe('the SDK over SSE, its stream ended by the gateway', () => {
  it('reads on after the 404 to what is still coming and the close event', async () => {
    const gateway = endedGateway();
    const socket = new SseSocket('http://gateway.test/sse', { fetch: gateway.fetch });
    await opened(socket);
    const messages: unknown[] = [];
    socket.onmessage = ({ data }) => messages.push(data);
    const close = closed(socket);
    socket.send('{"type":"ping"}');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the POST's 404 came back
    gateway.write(
      'data: {"type":"event","n":1}\n\nevent: close\ndata: {"code":4008,"reason":"SLOW_CONSUMER"}\n\n',
    );
    gateway.end();
    expect(await close).toMatchObject({ code: 4008, reason: 'SLOW_CONSUMER' });
    expect(messages).toEqual(['{"type":"event","n":1}']);
  });

  it('gives a stream that never ends up after the idle timeout, events still coming or not', async () => {
    const gateway = endedGateway();
    const socket = new SseSocket('http://gateway.test/sse', { fetch: gateway.fetch });
    await opened(socket);
    const close = closed(socket);
    socket.send('{"type":"ping"}');
    const trickle = setInterval(() => gateway.write(': \n\ndata: {"type":"event"}\n\n'), 20);
    try {
      const { code, afterMs } = await close;
      expect(code).toBe(1006);
      expect(afterMs).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 5);
      expect(afterMs).toBeLessThan(IDLE_TIMEOUT_MS + 1000);
    } finally {
      clearInterval(trickle);
    }
  });
});
