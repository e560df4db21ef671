/**
 * Size limits and the close rules on every edge. A frame over maxPayloadLength
 * cuts that connection (1006, no close frame, as uWS does) and no other; `end` and
 * `close` run the close handler at once; a socket used after its close handler throws.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { reply, type Socket } from '../../src/edge/uws.ts';
import { closedOf, connect, messages, type Served, serve, testedEdges, text, until } from './edge-harness.ts';

const LIMIT = 1000;

describe.each(testedEdges())('limits and closes on the %s edge', (impl) => {
  let served: Served | undefined;
  afterEach(() => served?.stop());

  it('a frame over maxPayloadLength cuts its connection only', async () => {
    const closes: { code: number; reason: string }[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', {
        maxPayloadLength: LIMIT,
        message: (ws: Socket<unknown>, data) => ws.send(`got ${data.byteLength}`),
        close: (_ws, code, reason) => closes.push({ code, reason: text(reason) }),
      }),
    );
    const [big, bystander] = [await connect(`${served.base}/`), await connect(`${served.base}/`)];
    const atLimit = messages(big, 1);
    big.send('a'.repeat(LIMIT));
    expect(await atLimit).toEqual([`got ${LIMIT}`]);
    const closed = closedOf(big);
    big.send('a'.repeat(LIMIT + 1));
    expect((await closed).code).toBe(1006);
    await until(() => closes.length === 1);
    expect(closes[0]).toEqual({ code: 1006, reason: expect.stringMatching(/^Received too big message/) });
    const stillServed = messages(bystander, 1);
    bystander.send('hi');
    expect(await stillServed).toEqual(['got 2']);
    bystander.close();
  });

  it('a text frame that is not UTF-8 cuts its connection, named as uWS names it', async () => {
    const closes: { code: number; reason: string }[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', { close: (_ws, code, reason) => closes.push({ code, reason: text(reason) }) }),
    );
    const ws = await connect(`${served.base}/`);
    const closed = closedOf(ws);
    ws.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false });
    expect((await closed).code).toBe(1006);
    await until(() => closes.length === 1);
    expect(closes).toEqual([{ code: 1006, reason: 'Received invalid UTF-8' }]);
  });

  it('end sends the close code and runs the close handler before it returns', async () => {
    const order: string[] = [];
    let afterClose: unknown;
    served = await serve(impl, (app) =>
      app.ws('/*', {
        message: (ws: Socket<unknown>) => {
          ws.end(4008, 'SLOW_CONSUMER');
          order.push('end returned');
          try {
            ws.send('too late');
          } catch (error) {
            afterClose = error;
          }
        },
        close: (_ws, code, reason) => order.push(`close ${code} ${text(reason)}`),
      }),
    );
    const ws = await connect(`${served.base}/`);
    const closed = closedOf(ws);
    ws.send('end');
    expect(await closed).toEqual({ code: 4008, reason: 'SLOW_CONSUMER' });
    expect(order).toEqual(['close 4008 SLOW_CONSUMER', 'end returned']);
    expect(afterClose).toBeInstanceOf(Error);
  });

  it('close cuts the connection (1006 at the client) and runs the close handler at once', async () => {
    const order: string[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', {
        message: (ws: Socket<unknown>) => {
          ws.close();
          order.push('close returned');
        },
        close: (_ws, code) => order.push(`close ${code}`),
      }),
    );
    const ws = await connect(`${served.base}/`);
    const closed = closedOf(ws);
    ws.send('close');
    expect((await closed).code).toBe(1006);
    expect(order).toEqual(['close 1006', 'close returned']);
  });

  it.each(['FIN', 'RST'])(
    'a peer gone without a close frame (%s) is closed (1006) before a request it sent after is handled',
    async (how) => {
      const order: string[] = [];
      served = await serve(impl, (app) => {
        app.ws('/*', {
          message: (ws) => ws.send('unread'),
          close: (_ws, code) => order.push(`close ${code}`),
        });
        app.get('/after', (res) => {
          order.push('request');
          reply(res, 200, 'ok', 'text/plain');
        });
      });
      const http = `http://127.0.0.1:${served.port}/after`;
      await fetch(http); // a kept-alive connection, so the next request needs no accept
      const ws = await connect(`${served.base}/`);
      if (how === 'RST') {
        // Data the client never reads makes the kernel reset the connection on close.
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        ws.send('send me something');
        await new Promise((r) => setTimeout(r, 50));
      }
      ws.terminate();
      await fetch(http);
      expect(order).toEqual(['request', 'close 1006', 'request']);
    },
  );

  it('a client’s close frame reaches the close handler with its code and reason', async () => {
    const closes: string[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', { close: (_ws, code, reason) => closes.push(`${code} ${text(reason)}`) }),
    );
    const ws = await connect(`${served.base}/`);
    ws.close(1000, 'bye');
    await until(() => closes.length === 1);
    expect(closes).toEqual(['1000 bye']);
  });
});
