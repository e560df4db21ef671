/**
 * Topics on every edge: publish reaches exactly the subscribers, in order with
 * direct sends; numSubscribers follows subscribe, unsubscribe and close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from '../../src/edge/uws.ts';
import { closedOf, connect, messages, type Served, serve, testedEdges, text, until } from './edge-harness.ts';

describe.each(testedEdges())('topics on the %s edge', (impl) => {
  let served: Served | undefined;
  afterEach(() => served?.stop());

  /** Clients drive the server: `sub:T`, `unsub:T`, `mix:T` (send, publish to T, send). */
  const start = async () => {
    const closes: number[] = [];
    served = await serve(impl, (app) =>
      app.ws('/*', {
        message: (ws: Socket<unknown>, data) => {
          const [verb, arg = ''] = text(data).split(':');
          if (verb === 'sub') ws.subscribe(arg);
          if (verb === 'unsub') ws.send(String(ws.unsubscribe(arg)));
          if (verb === 'mix') {
            ws.send('first');
            served?.app.publish(arg, 'second', false, false);
            ws.send('third');
          }
        },
        close: (_ws, code) => closes.push(code),
      }),
    );
    return { served, closes };
  };

  it('a publish reaches every subscriber of its topic and no one else', async () => {
    const { served } = await start();
    const [a, b, c] = [
      await connect(`${served.base}/t`),
      await connect(`${served.base}/t`),
      await connect(`${served.base}/t`),
    ];
    a.send('sub:room');
    b.send('sub:room');
    c.send('sub:elsewhere');
    await until(
      () => served.app.numSubscribers('room') === 2 && served.app.numSubscribers('elsewhere') === 1,
    );
    const toC: string[] = [];
    c.on('message', (m) => toC.push(m.toString()));
    const [atA, atB] = [messages(a, 2), messages(b, 2)];
    served.app.publish('room', 'one', false, false);
    served.app.publish('room', 'two', false, false);
    expect(await atA).toEqual(['one', 'two']);
    expect(await atB).toEqual(['one', 'two']);
    expect(toC).toEqual([]);
    for (const ws of [a, b, c]) ws.close();
  });

  it('a published message arrives whole at every length boundary of the frame header', async () => {
    const { served } = await start();
    const ws = await connect(`${served.base}/t`);
    ws.send('sub:room');
    await until(() => served.app.numSubscribers('room') === 1);
    const lengths = [0, 125, 126, 65_535, 65_536, 200_000];
    const got = messages(ws, lengths.length);
    for (const length of lengths)
      served.app.publish('room', 'é'.repeat(length / 2) + 'x'.repeat(length % 2), false, false);
    expect((await got).map((m) => Buffer.byteLength(m))).toEqual(lengths);
    ws.close();
  });

  it('direct sends and publishes arrive in the order they were made', async () => {
    const { served } = await start();
    const ws = await connect(`${served.base}/t`);
    ws.send('sub:room');
    await until(() => served.app.numSubscribers('room') === 1);
    const got = messages(ws, 3);
    ws.send('mix:room');
    expect(await got).toEqual(['first', 'second', 'third']);
    ws.close();
  });

  it('unsubscribe and close take a socket off its topics', async () => {
    const { served, closes } = await start();
    const [a, b] = await Promise.all([connect(`${served.base}/t`), connect(`${served.base}/t`)]);
    a.send('sub:room');
    b.send('sub:room');
    await until(() => served.app.numSubscribers('room') === 2);
    const answers = messages(a, 2);
    a.send('unsub:room');
    a.send('unsub:room'); // no longer subscribed: false, as in uWS
    expect(await answers).toEqual(['true', 'false']);
    expect(served.app.numSubscribers('room')).toBe(1);
    b.close(1000);
    await closedOf(b);
    await until(() => closes.length === 1);
    expect(served.app.numSubscribers('room')).toBe(0);
    expect(closes).toEqual([1000]);
    a.close();
  });
});
