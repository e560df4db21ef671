/**
 * Streamed responses on every edge (the SSE fallback's needs, src/edge/sse/): `write` sends
 * a chunk at once and says when the client is not keeping up, `onWritable` reports when the
 * backlog drained, and `close` cuts the connection with the `onAborted` handlers run.
 */
import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../src/edge/uws.ts';
import { type Served, serve, testedEdges, until } from './edge-harness.ts';

const CHUNK = 'x'.repeat(64 * 1024);

function open(served: Served, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) =>
    get(`http://127.0.0.1:${served.port}${path}`, resolve).on('error', reject),
  );
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
});
