/**
 * An SSE stream sends what one turn of the loop wrote in one write when the turn ends
 * (src/edge/sse/sse-socket.ts, `hold`/`release`), at most 16 KiB at a time, and keeps
 * its order and backpressure rules while doing so. The HTTP response is a recording
 * stand-in: what is asserted is what it was asked to write, and when.
 */
import { setImmediate as turnEnds } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.ts';
import { SEND_BUFFERED, SEND_SENT } from '../../src/core/ports/edge-socket.ts';
import type { HttpResponse } from '../../src/edge/edge-port.ts';
import { SseStreams } from '../../src/edge/sse/sse-streams.ts';

/** An HttpResponse that records its writes; `full` makes the next writes report backpressure. */
function recordingResponse() {
  const writes: string[] = [];
  const handlers: { writable?: () => boolean; aborted?: () => void } = {};
  const state = { full: false, throws: false };
  const res = {
    writes,
    handlers,
    state,
    aborted: false,
    onAborted(fn: () => void) {
      handlers.aborted = fn;
      return res;
    },
    onWritable(fn: () => boolean) {
      handlers.writable = fn;
      return res;
    },
    cork(fn: () => void) {
      fn();
      return res;
    },
    writeStatus: () => res,
    writeHeader: () => res,
    write(chunk: string | Buffer) {
      if (state.throws) throw new Error('Invalid access of discarded/aborted HttpResponse');
      writes.push(String(chunk));
      return !state.full;
    },
    end() {
      writes.push('<end>');
      return res;
    },
    close: () => res,
  };
  return res;
}

const newStreams = () =>
  new SseStreams('node-1', 1 << 20, 60_000, { mode: 'off', thresholdBytes: 0, windowKb: 0 }, 65_536);

function openStream(streams = newStreams()) {
  const res = recordingResponse();
  const conn = { drained: 0, closedWith: undefined as number | undefined };
  const connection = {
    onDrain: () => conn.drained++,
    onClose: (code: number) => {
      conn.closedWith = code;
    },
  } as unknown as Connection;
  const socket = streams.open(res as unknown as HttpResponse, connection, {
    lastEventId: '',
    acceptEncoding: '',
    headers: {},
  });
  res.writes.length = 0; // the `open` event
  return { streams, res, socket, conn };
}

const frame = (n: number) => `{"type":"pong","ts":${n}}`;

describe('an SSE stream holds a turn’s writes', () => {
  it('sends the frames of one turn in one write, in order, when the turn ends', async () => {
    const { res, socket } = openStream();
    for (let n = 0; n < 5; n++) expect(socket.send(frame(n))).toBe(SEND_SENT);
    expect(res.writes).toEqual([]);
    await turnEnds();
    expect(res.writes).toHaveLength(1);
    const order = [...(res.writes[0] ?? '').matchAll(/"ts":(\d+)/g)].map((m) => Number(m[1]));
    expect(order).toEqual([0, 1, 2, 3, 4]);
    socket.send(frame(5));
    await turnEnds();
    expect(res.writes).toHaveLength(2);
  });

  it('lets 16 KiB go at once rather than hold more', async () => {
    const { res, socket } = openStream();
    const big = `{"type":"pong","ts":1,"pad":"${'x'.repeat(6000)}"}`;
    for (let n = 0; n < 3; n++) socket.send(big);
    expect(res.writes).toHaveLength(1); // the third passed 16 KiB
    await turnEnds();
    expect(res.writes).toHaveLength(1); // nothing was left
    expect(socket.getBufferedAmount()).toBe(0);
  });

  it('ends with what it held first, then the close event', async () => {
    const { res, socket, conn } = openStream();
    socket.send(frame(1));
    socket.end(1000, 'bye');
    expect(res.writes[0]).toContain('"ts":1');
    expect(res.writes.at(-1)).toBe('<end>');
    expect(conn.closedWith).toBe(1000);
    await turnEnds();
    expect(res.writes.filter((w) => w.includes('"ts":1'))).toHaveLength(1);
  });

  it('counts what the edge could not take as buffered, queues behind it, and drains in order', async () => {
    const { res, socket, conn } = openStream();
    res.state.full = true;
    socket.send(frame(1));
    await turnEnds();
    expect(socket.getBufferedAmount()).toBeGreaterThan(0);
    expect(socket.send(frame(2))).toBe(SEND_BUFFERED);
    res.state.full = false;
    res.handlers.writable?.();
    expect(res.writes.map((w) => /"ts":(\d+)/.exec(w)?.[1])).toEqual(['1', '2']);
    expect(socket.getBufferedAmount()).toBe(0);
    expect(conn.drained).toBe(1);
  });

  it('a stream whose response fails at release is closed, and the others are still sent', async () => {
    const a = openStream();
    const b = openStream(a.streams); // one registry: one release for both
    a.socket.send(frame(1));
    b.socket.send(frame(2));
    a.res.state.throws = true;
    await turnEnds();
    expect(a.conn.closedWith).toBe(1006);
    expect(b.res.writes).toHaveLength(1);
  });
});
