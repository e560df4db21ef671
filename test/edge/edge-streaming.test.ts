/**
 * Streamed responses on every edge (the SSE fallback's needs, src/edge/sse/): `write` sends
 * a chunk at once and says when the client is not keeping up, `onWritable` reports when the
 * backlog drained, `close` cuts the connection with the `onAborted` handlers run, and a
 * client that takes nothing of its response for the HTTP idle timeout is cut.
 */
import { get, type IncomingMessage } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../src/edge/uws.ts';
import { type Served, serve, testedEdges, until } from './edge-harness.ts';

const CHUNK = 'x'.repeat(64 * 1024);
/** Far more than loopback's socket buffers hold (~4 MB here), so the edge keeps the rest. */
const LARGE = 12 * 1024 * 1024;

function open(served: Served, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) =>
    get(`http://127.0.0.1:${served.port}${path}`, resolve).on('error', reject),
  );
}

/**
 * A GET read by hand: `paused` reads nothing; `slowly` one chunk (≤ 64 KiB) each 250 ms, far
 * below what loopback takes. `received` counts what came.
 */
function request(served: Served, path: string, reading: 'paused' | 'slowly') {
  const state = { received: 0, closed: false, socket: undefined as Socket | undefined, stop: () => {} };
  const socket = connectTcp(served.port, '127.0.0.1', () =>
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`),
  );
  socket.on('data', (chunk) => {
    state.received += chunk.length;
    if (reading === 'slowly') socket.pause();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
  });
  if (reading === 'paused') socket.pause();
  const pace = reading === 'slowly' ? setInterval(() => socket.resume(), 250) : undefined;
  state.socket = socket;
  state.stop = () => {
    clearInterval(pace);
    socket.destroy();
  };
  return state;
}

describe.each(testedEdges())('streamed responses on the %s edge', (impl) => {
  let served: Served | undefined;
  afterEach(() => served?.stop());

  it('writes chunks as they come, reports backpressure, and resumes on onWritable', async () => {
    const state = { refused: false, writable: 0, total: 0 };
    served = await serve(impl, (app) =>
      app.get('/stream', (res: HttpResponse) => {
        res.onAborted(() => {});
        res.writeStatus('200 OK').writeHeader('content-type', 'text/plain');
        res.write('first\n');
        // Later, outside the handler: keep writing until the client falls behind.
        setTimeout(() => {
          res.cork(() => {
            while (!state.refused && state.total < 64 * CHUNK.length) {
              state.total += CHUNK.length;
              state.refused = !res.write(CHUNK);
            }
          });
        }, 50);
        res.onWritable(() => {
          state.writable++;
          res.cork(() => res.end('last\n'));
          return true;
        });
      }),
    );
    const response = await open(served, '/stream');
    const first = await new Promise<string>((resolve) =>
      response.once('data', (c: Buffer) => resolve(String(c))),
    );
    expect(first.startsWith('first')).toBe(true);
    response.pause(); // stop reading: the edge's buffer fills
    await until(() => state.refused, 5000);
    let received = first.length;
    response.on('data', (c: Buffer) => {
      received += c.length;
    });
    const ended = new Promise((resolve) => response.on('end', resolve));
    response.resume();
    await ended;
    expect(state.writable).toBeGreaterThan(0);
    expect(received).toBe('first\n'.length + state.total + 'last\n'.length);
  });

  it('close() cuts the connection and runs the onAborted handlers', async () => {
    let aborted = 0;
    served = await serve(impl, (app) =>
      app.get('/cut', (res: HttpResponse) => {
        res.onAborted(() => {
          aborted++;
        });
        res.writeStatus('200 OK');
        res.write('opened\n');
        setTimeout(() => res.close(), 50);
      }),
    );
    const response = await open(served, '/cut');
    const cut = new Promise((resolve) => response.on('close', resolve));
    response.resume();
    await cut;
    expect(response.complete).toBe(false); // no end of the chunked body: a cut
    expect(aborted).toBe(1);
  });

  it('cuts a client that takes nothing of its response for the idle timeout, ended or not; one reading slowly stays', async () => {
    // uWS cuts it 10–14 s after the last byte it took (its HTTP idle timeout, armed by a write it
    // could not finish): a stalled client holds no socket and no buffered response for long.
    const aborted: string[] = [];
    served = await serve(impl, (app) => {
      app.get('/ended', (res) => res.cork(() => streamLarge(res).end()));
      app.get('/streaming', (res) => {
        res.onAborted(() => aborted.push('streaming'));
        res.cork(() => streamLarge(res));
      });
      app.get('/once', (res) => res.end(Buffer.alloc(LARGE, 120)));
    });
    const s = served;
    const started = performance.now();
    const ended = request(s, '/ended', 'paused');
    const streaming = request(s, '/streaming', 'paused');
    const slow = request(s, '/once', 'slowly'); // one large write, read slowly
    try {
      await until(() => aborted.includes('streaming'), 20_000);
      // Past the longest a stalled client lasts on either edge: the slow reader is still served.
      await new Promise((resolve) => setTimeout(resolve, started + 21_000 - performance.now()));
      expect(slow.closed).toBe(false);
      expect(slow.received).toBeGreaterThan(0);
      expect(slow.received).toBeLessThan(LARGE); // the edge still held some of it all along
      ended.socket?.resume();
      await until(() => ended.closed, 5000);
      expect(ended.received).toBeLessThan(LARGE); // cut: what the edge still held was dropped
    } finally {
      for (const client of [ended, streaming, slow]) client.stop();
    }
  }, 40_000);
});

/** 12 MiB in 64 KiB writes, more than the client's and the kernel's buffers take. */
function streamLarge(res: HttpResponse): HttpResponse {
  res.writeStatus('200 OK');
  for (let sent = 0; sent < LARGE; sent += CHUNK.length) res.write(CHUNK);
  return res;
}
