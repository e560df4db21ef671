/**
 * The client SDK's `history()` (issue 15 item 7), on the client and on a
 * subscription, against a real gateway: pages in order, newest first, from a
 * position; asked before connecting, sent once connected; refused with the gateway's
 * code; delivering nothing to the subscription.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChannelEvent, TetherClient } from '../../packages/client/src/index.ts';
import { publishMany } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway, type TokenClaims } from '../support/gateway.ts';

let gw: TestGateway;
const clients: TetherClient[] = [];
const channel = `room:${randomUUID().slice(0, 8)}`;
let ids: string[];

beforeAll(async () => {
  gw = await startTestGateway();
  ids = await publishMany(gw.http, channel, 6, 1);
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await gw.stop();
});

async function client(claims: TokenClaims = {}): Promise<TetherClient> {
  const made = new TetherClient({ url: gw.url, WebSocket, token: await mintToken(claims) });
  clients.push(made);
  return made;
}

describe('history()', () => {
  it('asked before connect, answered once connected: the events as publication gives them', async () => {
    const sdk = await client();
    const early = sdk.history(channel);
    sdk.connect();
    const page = await early;
    expect(page).toMatchObject({ channel, recovered: true, top: ids[5] });
    expect(page.epoch).toBeTruthy();
    expect(page.events.map((e) => e.id)).toEqual(ids);
    expect(page.events[0]).toEqual({ channel, id: ids[0], ts: expect.any(Number), data: { n: 0 } });
  });

  it('on a subscription: newest first, then from a position, delivering nothing to it', async () => {
    const sdk = await client();
    sdk.connect();
    const room = sdk.subscribe(channel);
    const subscribed = await room.ready();
    const delivered: ChannelEvent[] = [];
    room.on('publication', (event) => delivered.push(event));
    const newest = await room.history({ limit: 2, reverse: true });
    expect(newest.events.map((e) => e.id)).toEqual([ids[5], ids[4]]);
    const older = await room.history({ limit: 2, reverse: true, since: newest.events[1]?.id });
    expect(older.events.map((e) => e.id)).toEqual([ids[3], ids[2]]);
    const stale = await room.history({ limit: 1, since: { id: ids[0] as string, epoch: 'not-this-one' } });
    expect(stale).toMatchObject({ recovered: false, events: [{ id: ids[0] }] });
    const current = await room.history({ since: { id: ids[3] as string, epoch: subscribed.epoch } });
    expect(current.events.map((e) => e.id)).toEqual(ids.slice(4));
    expect(delivered).toEqual([]);
  });

  it('rejects with the gateway’s code; a bad channel name or limit throws before anything is sent', async () => {
    const sdk = await client({ channels: ['room:*'] });
    sdk.connect();
    await expect(sdk.history('other:1')).rejects.toMatchObject({ code: 'FORBIDDEN_CHANNEL' });
    expect(() => sdk.history(channel, { limit: 5000 })).toThrow(TypeError);
    expect(() => sdk.history('room:*')).toThrow(TypeError);
    await expect(sdk.history(channel, { limit: 1 })).resolves.toMatchObject({ events: [{ id: ids[0] }] });
  });
});
