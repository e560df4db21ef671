/**
 * Backpressure on every edge, against a client that stops reading: `send` says
 * buffered (0) and `drain` follows when the client reads again; past
 * `maxBackpressure` a send is dropped (2) and, with `closeOnBackpressureLimit`,
 * the socket is cut (1006) after the handler returns; a topic publish is never
 * held up by a slow subscriber, which is cut instead of silently skipped.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { Socket } from '../../src/edge/uws.ts';
import { closedOf, connect, messages, type Served, serve, testedEdges, until } from './edge-harness.ts';

const CHUNK = 'x'.repeat(64 * 1024);
const LIMIT = 256 * 1024;
/** More than loopback's socket buffers can hold (a few MB): the server must buffer. */
const MAX_CHUNKS = 1000;

/** The client stops reading: what the server writes piles up in its buffers. */
function stopReading(ws: WebSocket): () => void {
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  return () => socket.resume();
}

describe.each(testedEdges())('backpressure on the %s edge', (impl) => {
  let served: Served | undefined;
  afterEach(() => served?.stop());

  it('send reports buffered, then drain runs once the client reads again', async () => {
    const results: number[] = [];
    let drains = 0;
    let buffered = 0;
    served = await serve(impl, (app) =>
      app.ws('/*', {
        message: (ws: Socket<unknown>) => {
          for (let i = 0; i < MAX_CHUNKS && results.at(-1) !== 0; i++) results.push(ws.send(CHUNK));
          buffered = ws.getBufferedAmount();
        },
        drain: () => drains++,
      }),
    );
    const ws = await connect(`${served.base}/`);
    const resume = stopReading(ws);
    ws.send('fill');
    await until(() => results.at(-1) === 0);
    expect(results.slice(0, -1).every((r) => r === 1)).toBe(true);
    expect(buffered).toBeGreaterThan(0);
    expect(drains).toBe(0);
    const all = messages(ws, results.length);
    resume();
    expect((await all).every((m) => m === CHUNK)).toBe(true);
    expect(drains).toBeGreaterThan(0);
    ws.close();
  });

  it('past maxBackpressure a send is dropped and the socket cut after the handler (1006)', async () => {
    const results: number[] = [];
    const closes: { code: number; inHandler: boolean }[] = [];
    let inHandler = false;
    served = await serve(impl, (app) =>
      app.ws('/*', {
        maxBackpressure: LIMIT,
        closeOnBackpressureLimit: 1,
        message: (ws: Socket<unknown>) => {
          inHandler = true;
          for (let i = 0; i < MAX_CHUNKS && results.at(-1) !== 2; i++) results.push(ws.send(CHUNK));
          inHandler = false;
        },
        close: (_ws, code) => closes.push({ code, inHandler }),
      }),
    );
    const ws = await connect(`${served.base}/`);
    const resume = stopReading(ws);
    const closed = closedOf(ws);
    ws.send('fill');
    await until(() => closes.length === 1);
    expect(results.at(-1)).toBe(2);
    expect(results).toContain(0);
    expect(closes).toEqual([{ code: 1006, inHandler: false }]);
    resume();
    expect((await closed).code).toBe(1006);
  });

  it('a publish keeps reaching a reading subscriber while a stalled one is cut', async () => {
    const closes: number[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', {
        maxBackpressure: LIMIT,
        closeOnBackpressureLimit: 1,
        open: (ws: Socket<unknown>) => ws.subscribe('room'),
        close: (_ws, code) => closes.push(code),
      }),
    );
    const [reader, stalled] = [await connect(`${served.base}/`), await connect(`${served.base}/`)];
    await until(() => served?.app.numSubscribers('room') === 2);
    const resume = stopReading(stalled);
    const stalledClosed = closedOf(stalled);
    let read = 0;
    reader.on('message', () => read++);
    let published = 0;
    while (closes.length === 0 && published < MAX_CHUNKS) {
      served.app.publish('room', CHUNK, false, false);
      published++;
      const expected = published;
      await until(() => read === expected); // the reader keeps up: only the stalled one falls behind
    }
    expect(closes).toEqual([1006]);
    expect(served.app.numSubscribers('room')).toBe(1);
    served.app.publish('room', 'after', false, false);
    expect(await messages(reader, 1)).toEqual(['after']);
    resume();
    expect((await stalledClosed).code).toBe(1006);
    reader.close();
  });
});
