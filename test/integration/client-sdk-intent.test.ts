/**
 * The SDK keeps the application's intent straight around the edges of a connection: a
 * channel unsubscribed and subscribed again while reconnecting delivers nothing twice, the
 * backend's server-side unsubscribe ends the subscription and says so, and calls made on a
 * client that is not (or no longer) connecting settle instead of waiting forever.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type SubscriptionStateChange,
  TetherClient,
  TetherClientError,
} from '../../packages/client/src/index.ts';
import { eventually } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';

let gw: TestGateway;
const clients: TetherClient[] = [];
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await gw?.stop();
});

function newClient(sub: string): TetherClient {
  const client = new TetherClient({
    url: gw.url,
    WebSocket,
    transport: 'websocket',
    getToken: () => mintToken({ sub }),
    backoffBaseMs: 50,
  });
  clients.push(client);
  return client;
}

const backend = (path: string, body?: object) =>
  fetch(`${gw.http}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });

const channelName = () => `room:${randomUUID().slice(0, 8)}`;

describe('SDK intent across a reconnect', () => {
  it('unsubscribe() then subscribe() while reconnecting: every event once, the new subscription from where delivery stood', async () => {
    const channel = channelName();
    const user = `intent-${randomUUID().slice(0, 8)}`;
    const client = newClient(user);
    const seen: string[] = [];
    client.on('event', (event) => seen.push(event.id));
    let room = client.subscribe(channel);
    client.connect();
    await room.ready();
    const early = [
      await publishHttp(gw.http, channel, { n: 1 }),
      await publishHttp(gw.http, channel, { n: 2 }),
    ];
    await eventually(() => seen.length === 2, 'the first two events');

    // The session stays resumable; while the SDK is away, the application changes its mind twice.
    const whileAway = new Promise<void>((resolve) => {
      const off = client.on('state', ({ newState }) => {
        if (newState !== 'reconnecting') return;
        off();
        room.unsubscribe();
        room = client.subscribe(channel);
        resolve();
      });
    });
    expect((await backend(`/users/${user}/disconnect`)).status).toBe(200);
    await whileAway;
    await room.ready();
    const later = await publishHttp(gw.http, channel, { n: 3 });
    await eventually(() => seen.includes(later), 'the event after the resume');

    expect(seen).toEqual([...early, later]);
    const delivered: string[] = [];
    room.on('publication', ({ id }) => delivered.push(id));
    const last = await publishHttp(gw.http, channel, { n: 4 });
    await eventually(() => delivered.includes(last), 'the next event on the new subscription');
    expect(delivered).toEqual([last]);
  });

  it('the backend’s server-side unsubscribe ends the subscription with UNSUBSCRIBED_BY_SERVER, and a reconnect does not undo it', async () => {
    const channel = channelName();
    const kept = channelName();
    const user = `unsub-${randomUUID().slice(0, 8)}`;
    const client = newClient(user);
    const room = client.subscribe(channel);
    const other = client.subscribe(kept);
    const changes: SubscriptionStateChange[] = [];
    room.on('state', (change) => changes.push(change));
    client.connect();
    await Promise.all([room.ready(), other.ready()]);

    expect((await backend(`/users/${user}/unsubscribe`, { channel })).status).toBe(200);
    await eventually(() => room.state === 'unsubscribed', 'the subscription ended');
    expect(changes.at(-1)).toMatchObject({
      newState: 'unsubscribed',
      error: { code: 'UNSUBSCRIBED_BY_SERVER', retryable: false },
    });
    await expect(room.ready()).rejects.toMatchObject({ code: 'UNSUBSCRIBED_BY_SERVER' });
    expect(other.state).toBe('subscribed');

    // After a resumable drop the SDK does not ask for the channel back.
    expect((await backend(`/users/${user}/disconnect`)).status).toBe(200);
    await eventually(() => client.state === 'reconnecting', 'the drop');
    await eventually(() => client.state === 'connected', 'the resume', 15_000);
    await other.ready();
    const received: string[] = [];
    client.on('event', (event) => received.push(event.channel));
    // Published in this order on one socket: the ended channel's would come first.
    await publishHttp(gw.http, channel, { n: 1 });
    await publishHttp(gw.http, kept, { n: 1 });
    await eventually(() => received.includes(kept), 'the kept channel’s event');
    expect(received).toEqual([kept]);
  });

  it('ready() after unsubscribe() rejects with UNSUBSCRIBED, not CLIENT_CLOSED: the client is still connected', async () => {
    const client = newClient(`unsubscribed-${randomUUID().slice(0, 8)}`);
    const room = client.subscribe(channelName());
    client.connect();
    await room.ready();
    const waiting = client.subscribe(channelName()).ready(); // not confirmed yet when it is dropped
    client.subscriptions.at(-1)?.unsubscribe();
    room.unsubscribe();
    await expect(waiting).rejects.toMatchObject({ code: 'UNSUBSCRIBED', retryable: false });
    await expect(room.ready()).rejects.toMatchObject({ code: 'UNSUBSCRIBED', retryable: false });
    expect(client.state).toBe('connected');
  });

  it('its own unsubscribe() and subscribe() in one breath leave the new subscription standing', async () => {
    const channel = channelName();
    const client = newClient(`quick-${randomUUID().slice(0, 8)}`);
    const first = client.subscribe(channel);
    client.connect();
    await first.ready();
    first.unsubscribe();
    const second = client.subscribe(channel);
    await second.ready();
    const id = await publishHttp(gw.http, channel, { n: 1 });
    const delivered: string[] = [];
    second.on('publication', (event) => delivered.push(event.id));
    await eventually(() => delivered.includes(id), 'the event on the new subscription');
    expect(second.state).toBe('subscribed');
  });
});

describe('SDK calls on a client that is not connecting', () => {
  it('disconnect() before connect() rejects what was queued with CLIENT_CLOSED, and a later connect() does not send it', async () => {
    const channel = channelName();
    const client = newClient(`idle-${randomUUID().slice(0, 8)}`);
    const publish = client.publish(channel, { queued: true });
    const history = client.history(channel);
    client.disconnect();
    await expect(publish).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(history).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.state).toBe('closed');

    client.connect();
    await client.ready();
    expect((await client.history(channel)).events).toEqual([]);
  });

  it('subscribe().ready() on a closed client rejects at once; the intent stays for the next connect()', async () => {
    const channel = channelName();
    const client = newClient(`closed-${randomUUID().slice(0, 8)}`);
    client.connect();
    await client.ready();
    client.disconnect();
    const room = client.subscribe(channel);
    const error = await room.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherClientError);
    expect(error).toMatchObject({ code: 'CLIENT_CLOSED' });

    client.connect();
    await room.ready();
    expect(room.state).toBe('subscribed');
  });

  it('subscribe().ready() on a failed client rejects at once with the failure', async () => {
    const client = new TetherClient({
      url: gw.url,
      WebSocket,
      transport: 'websocket',
      token: await mintToken({ sub: 'mallory' }, 'a-different-secret-of-at-least-32-characters'),
    });
    clients.push(client);
    client.connect();
    await expect(client.ready()).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    await expect(client.subscribe(channelName()).ready()).rejects.toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
    });
  });
});
