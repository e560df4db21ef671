/**
 * Ephemeral channels (issue 17, part 5): a namespace with `ephemeral: true` carries
 * events live only — typing indicators, cursors. An ephemeral publish reaches the live
 * subscribers and nobody else: it has no ID, is not in history, and is not replayed on
 * resume or to a subscribe `from` a position. A subscriber that stops reading has
 * ephemeral events merged (the newest kept, sent when it drains) instead of being cut
 * as a slow consumer, while a durable
 * channel on the same socket keeps its guarantee: the coded 4008 close, then a resume
 * that loses nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChannelEvent, TetherClient } from '../../packages/client/src/index.ts';
import type { ServerFrame } from '../../src/shared/frames.ts';
import { configFile } from '../support/config-file.ts';
import { eventually, settle } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import { pauseReading, resumeReading } from '../support/pause-reading.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const TYPING = 'typing:room-1';
const DURABLE = 'room:room-1';
const CONFIG = configFile({ namespaces: { typing: { ephemeral: true } } });
const MAX_BACKPRESSURE = 1_048_576;
/** ~16 KB per event: a few hundred fill loopback's socket buffers, then the gateway's. */
const PAD = 'x'.repeat(16_000);
const MAX_EVENTS = 4000;

let gw: TestGateway | undefined;
const clients: TestClient[] = [];
const sdks: TetherClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  for (const sdk of sdks.splice(0)) sdk.disconnect();
  await gw?.stop();
  gw = undefined;
});

async function session(url: string, sub: string, channels: string[]) {
  const token = await mintToken({ sub });
  const opened = await TestClient.session(url, { token });
  clients.push(opened.client);
  for (const channel of channels) {
    opened.client.send({ type: 'subscribe', channel, ref: channel });
    await opened.client.next((f) => f.type === 'subscribed' && f.channel === channel);
  }
  return { ...opened, token };
}

/** POST /publish's answer for an ephemeral channel: no ID, `ephemeral: true`. */
async function publishEphemeral(http: string, data: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: TYPING, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const typing = (client: TestClient) =>
  client.frames.filter((f) => f.type === 'event' && f.channel === TYPING) as Extract<
    ServerFrame,
    { type: 'event' }
  >[];

const metric = async (http: string, name: string) => {
  const text = await (await fetch(`${http}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
};

describe('ephemeral channels', () => {
  it('reach live subscribers only: no ID, not in history, not replayed', async () => {
    gw = await startTestGateway({ CONFIG_FILE: CONFIG });
    const watcher = await session(gw.url, 'watcher', [TYPING]);
    const typist = await session(gw.url, 'typist', []);
    const sdk = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'app' }) });
    sdks.push(sdk);
    sdk.connect();
    const publications: ChannelEvent[] = [];
    const subscription = sdk.subscribe(TYPING);
    subscription.on('publication', (event) => publications.push(event));
    await subscription.ready();

    typist.client.send({ type: 'publish', channel: TYPING, ref: 'p1', data: { typing: true } });
    expect(await typist.client.next((f) => f.type === 'ack')).toEqual({
      type: 'ack',
      ref: 'p1',
      channel: TYPING,
      id: '',
      ephemeral: true,
    });
    expect(await publishEphemeral(gw.http, { typing: false })).toMatchObject({ id: '', ephemeral: true });
    await eventually(() => typing(watcher.client).length === 2, 'two ephemeral events');
    expect(typing(watcher.client).map((e) => [e.ephemeral, e.id, e.data])).toEqual([
      [true, undefined, { typing: true }],
      [true, undefined, { typing: false }],
    ]);
    // The SDK hands them out marked, with no ID and no position moved.
    await eventually(() => publications.length === 2, 'the SDK’s two publications');
    expect(publications[0]).toEqual({
      channel: TYPING,
      id: '',
      ts: expect.any(Number),
      data: { typing: true },
      ephemeral: true,
    });

    // Not in history, and a subscribe from the log's start replays nothing.
    watcher.client.send({ type: 'history', channel: TYPING, ref: 'h' });
    const page = await watcher.client.next((f) => f.type === 'history');
    expect(page).toMatchObject({ channel: TYPING, events: [] });
    const late = await session(gw.url, 'late', []);
    late.client.send({ type: 'subscribe', channel: TYPING, ref: 's', from: '0-0' });
    await late.client.next((f) => f.type === 'subscribed');

    // Published while the watcher is away: gone for it, and its resume replays nothing.
    watcher.client.drop();
    await eventually(
      () =>
        gw?.gateway.core.supervisor.sessionActor(watcher.welcome.sessionId)?.getSnapshot().value ===
        'reconnecting',
      'the watcher’s session in reconnecting',
    );
    await publishEphemeral(gw.http, { typing: 'while away' });
    await eventually(() => typing(late.client).length === 1, 'the late subscriber hears it live');
    const resumed = await TestClient.session(gw.url, {
      token: watcher.token,
      resume: { sessionId: watcher.welcome.sessionId, resumeToken: watcher.welcome.resumeToken },
    });
    clients.push(resumed.client);
    expect(resumed.welcome).toMatchObject({ resumed: true });
    await publishEphemeral(gw.http, { typing: 'after' });
    await eventually(() => typing(resumed.client).length === 1, 'the resumed session hears it live');
    await settle(resumed.client);
    expect(typing(resumed.client).map((e) => e.data)).toEqual([{ typing: 'after' }]);
    expect(typing(late.client).map((e) => e.data)).toEqual([{ typing: 'while away' }, { typing: 'after' }]);
  });

  it('merges for a subscriber that stops reading instead of cutting it; durable channels still cut and resume', async () => {
    gw = await startTestGateway({ CONFIG_FILE: CONFIG, MAX_BACKPRESSURE_BYTES: String(MAX_BACKPRESSURE) });
    const g = gw;
    const slow = await session(g.url, 'slow', [TYPING, DURABLE]);
    pauseReading(slow.client);

    // Ephemeral flood: dropped once the socket backs up, and the socket stays.
    const droppedBefore = await metric(g.http, 'tether_ephemeral_dropped_total');
    let sent = 0;
    while (sent < MAX_EVENTS && (await metric(g.http, 'tether_ephemeral_dropped_total')) === droppedBefore) {
      for (let i = 0; i < 20; i++) await publishEphemeral(g.http, { n: sent++, pad: PAD });
    }
    expect(await metric(g.http, 'tether_ephemeral_dropped_total')).toBeGreaterThan(droppedBefore);
    for (let i = 0; i < 100; i++) await publishEphemeral(g.http, { n: sent++, pad: PAD });
    await publishEphemeral(g.http, { n: sent++, last: true });
    expect(g.gateway.core.connections.has(slow.welcome.connectionId)).toBe(true);

    // It reads again: the newest state arrives (merged, not lost), what did arrive came once
    // each and in order, and the socket is still open.
    resumeReading(slow.client);
    await eventually(
      () => typing(slow.client).some((e) => (e.data as { last?: boolean }).last),
      'the newest ephemeral event, sent once the socket drained',
      20_000,
    );
    const got = typing(slow.client).map((e) => (e.data as { n: number }).n);
    expect(got.at(-1)).toBe(sent - 1);
    expect(got.length).toBeLessThan(sent);
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(new Set(got).size).toBe(got.length);
    expect(slow.client.closed).toBeUndefined();

    // The durable channel on the same socket: cut with 4008 past the limit, resumed without loss.
    pauseReading(slow.client);
    const published: string[] = [];
    for (let n = 0; n < MAX_EVENTS && g.gateway.core.connections.has(slow.welcome.connectionId); n++)
      published.push(await publishHttp(g.http, DURABLE, { n, pad: PAD }));
    for (let n = 0; n < 20; n++) published.push(await publishHttp(g.http, DURABLE, { n, pad: PAD }));
    resumeReading(slow.client);
    expect(await slow.client.waitClosed(10_000)).toEqual({ code: 4008, reason: 'SLOW_CONSUMER' });
    const before = ids(slow.client.events(DURABLE));
    expect(before).toEqual(published.slice(0, before.length));
    const resumed = await TestClient.session(g.url, {
      token: slow.token,
      resume: {
        sessionId: slow.welcome.sessionId,
        resumeToken: slow.welcome.resumeToken,
        lastEventIds: before.length > 0 ? { [DURABLE]: before.at(-1) as string } : {},
      },
    });
    clients.push(resumed.client);
    expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
    const missing = published.length - before.length;
    await resumed.client.waitForEvents(missing, DURABLE, 20_000);
    await settle(resumed.client);
    expect([...before, ...ids(resumed.client.events(DURABLE))]).toEqual(published);
  });
});
