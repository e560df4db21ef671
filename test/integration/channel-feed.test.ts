/**
 * Live delivery across processes (src/channels/channel-reader.ts): every append is
 * announced on pub/sub in stream order; a reader whose connection drops catches up
 * from the stream, delivering each event once and in order, and reports events
 * trimmed before it could read them. Real Redis throughout.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ChannelReader } from '../../src/channels/channel-reader.ts';
import { EventLog } from '../../src/channels/event-log.ts';
import type { LoggedEvent } from '../../src/core/ports/event-store.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { compareEventIds } from '../../src/shared/frames.ts';
import { eventually, lastId, PublishLoop, publishMany, settle } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function redis(options: RedisOptions = {}): Redis {
  const client = new Redis(inject('redisUrl'), { lazyConnect: true, ...options });
  cleanups.push(() => client.disconnect());
  return client;
}

/** Kill every connection named `name`; returns how many there were. */
async function killConnections(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const idsOf = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1]);
  for (const id of idsOf) if (id) await admin.client('KILL', 'ID', id);
  return idsOf.length;
}

describe('channel reader', () => {
  it('catches up after a dropped connection: each event once, in order, and says what was trimmed', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const commands = redis();
    const admin = redis();
    const name = `feed-${randomUUID().slice(0, 8)}`;
    // Reconnects after 1.5 s, long enough for the appends below to be trimmed meanwhile.
    const subscriber = redis({ connectionName: name, autoResubscribe: false, retryStrategy: () => 1500 });
    await Promise.all([commands.connect(), admin.connect(), subscriber.connect()]);
    const log = new EventLog(commands, redisKeys(prefix), 50);
    const delivered: (LoggedEvent & { channel: string })[] = [];
    const missed: string[] = [];
    const reader = new ChannelReader(
      subscriber,
      log,
      redisKeys(prefix),
      {
        deliver: (channel, event) => delivered.push({ channel, ...event }),
        missed: (channel) => missed.push(channel),
      },
      pino({ level: 'silent' }),
    );
    reader.start();
    cleanups.push(() => reader.stop());
    await reader.join('room');
    await reader.join('calm');
    await reader.join('big');

    const before: string[] = [];
    for (let n = 0; n < 20; n++) before.push((await log.append('room', `{"n":${n}}`, 'c')).id);
    await eventually(() => delivered.length === 20, 'live delivery');
    expect(delivered.map((e) => e.id)).toEqual(before);
    expect(delivered[0]).toMatchObject({ json: '{"n":0}', correlationId: 'c' });

    expect(await killConnections(admin, name)).toBe(1);
    // While the reader is away: far more than the retention on one channel, a few on another.
    const during: string[] = [];
    for (let n = 20; n < 520; n++) during.push((await log.append('room', `{"n":${n}}`, 'c')).id);
    const calm: string[] = [];
    for (let n = 0; n < 5; n++) calm.push((await log.append('calm', `{"n":${n}}`, 'c')).id);
    // Over two pages' byte budget (PAGE_MAX_BYTES), in far fewer events than a page's count.
    const big: string[] = [];
    const blob = 'x'.repeat(60_000);
    for (let n = 0; n < 40; n++) big.push((await log.append('big', `{"n":${n},"b":"${blob}"}`, 'c')).id);
    const after: string[] = [];
    await eventually(() => missed.length > 0, 'the gap reported', 10_000);
    for (let n = 520; n < 530; n++) after.push((await log.append('room', `{"n":${n}}`, 'c')).id);
    await eventually(() => delivered.at(-1)?.id === after.at(-1), 'live again after catching up', 10_000);

    expect(missed).toEqual(['room']); // 'calm' and 'big' lost nothing
    const of = (channel: string) => delivered.filter((e) => e.channel === channel).map((e) => e.id);
    expect(of('calm')).toEqual(calm);
    await eventually(() => of('big').length >= big.length, 'the large events caught up', 10_000);
    expect(of('big')).toEqual(big);
    // 'room': everything before the drop, then the retained tail of what came during it, then the rest.
    const room = of('room');
    expect(new Set(room).size).toBe(room.length); // nothing twice
    expect([...room].sort(compareEventIds)).toEqual(room); // in order
    const retained = room.slice(20, room.length - after.length);
    expect(room.slice(0, 20)).toEqual(before);
    expect(retained.length).toBeGreaterThan(0);
    expect(retained.length).toBeLessThan(during.length);
    expect(retained).toEqual(during.slice(during.length - retained.length));
    expect(room.slice(-after.length)).toEqual(after);
  });
});

describe('channel reader catching up while the store fails it', () => {
  it('keeps trying (one loop per channel, however many reconnects), says so once, then delivers each event once', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const commands = redis({ retryStrategy: () => 50 });
    const publisher = redis();
    const admin = redis();
    const name = `feed-${randomUUID().slice(0, 8)}`;
    const subscriber = redis({ connectionName: name, autoResubscribe: false, retryStrategy: () => 50 });
    await Promise.all([commands.connect(), publisher.connect(), admin.connect(), subscriber.connect()]);
    const log = new EventLog(commands, redisKeys(prefix), 1000);
    const appender = new EventLog(publisher, redisKeys(prefix), 1000);
    const delivered: string[] = [];
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const reader = new ChannelReader(
      subscriber,
      log,
      redisKeys(prefix),
      { deliver: (_, event) => delivered.push(event.id), missed: () => {} },
      logger,
    );
    reader.start();
    cleanups.push(() => reader.stop());
    await reader.join('room');
    const before = [(await appender.append('room', '{"n":0}', 'c')).id];
    await eventually(() => delivered.length === 1, 'live delivery');

    // The reader's command connection is gone: every catch-up fails until it is back.
    commands.disconnect();
    const appended = [...before];
    for (let drop = 0; drop < 4; drop++) {
      expect(await killConnections(admin, name)).toBe(1); // each reconnect announces a resync
      await eventually(() => subscriber.status === 'ready', 'the subscriber back');
      appended.push((await appender.append('room', `{"n":${drop + 1}}`, 'c')).id);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(delivered).toEqual(before); // held: the reader cannot place them in the log yet
    await commands.connect();
    await eventually(() => delivered.length === appended.length, 'caught up once the store answers', 15_000);
    appended.push((await appender.append('room', '{"n":"live"}', 'c')).id);
    await eventually(() => delivered.length === appended.length, 'live again');
    expect(delivered).toEqual(appended);
    expect(warnings.filter((msg) => msg.startsWith('channel reader: catching up failed'))).toHaveLength(1);
  });
});

describe('gateway live delivery', () => {
  const gateways: TestGateway[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.drop();
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
  });

  async function gateway(overrides: Record<string, string> = {}) {
    const gw = await startTestGateway({ NODE_ID: `feed-${randomUUID().slice(0, 8)}`, ...overrides });
    gateways.push(gw);
    return gw;
  }

  async function subscribed(url: string, channel: string) {
    const session = await TestClient.session(url, { token: await mintToken({ sub: 'reader' }) });
    clients.push(session.client);
    session.client.send({ type: 'subscribe', channel, ref: 's' });
    await session.client.next((f) => f.type === 'subscribed' && f.ref === 's');
    return session;
  }

  it('loses nothing when its pub/sub connection is killed mid-stream', async () => {
    const gw = await gateway();
    const channel = `feed-${randomUUID()}`;
    const { client } = await subscribed(gw.url, channel);
    const admin = redis();
    await admin.connect();

    const loop = new PublishLoop(() => gw.http, channel, { limit: 300, pauseMs: 1 });
    await eventually(() => loop.ids.length >= 60, 'publishing under way');
    expect(await killConnections(admin, `tether:${gw.gateway.core.config.nodeId}:feed`)).toBe(1);
    const published = await loop.finished();

    await client.waitForEvents(300, channel, 15_000);
    await settle(client);
    expect(ids(client.events(channel))).toEqual(published);
    expect(client.closed).toBeUndefined();
  });

  it('replays a backlog many times the socket send limit without cutting the client off', async () => {
    const gw = await gateway({ MAX_BACKPRESSURE_BYTES: String(1024 * 1024) });
    const channel = `backlog-${randomUUID()}`;
    const token = await mintToken({ sub: 'reader' });
    const { client, welcome } = await subscribed(gw.url, channel);
    const first = await publishMany(gw.http, channel, 1);
    await client.waitForEvents(1, channel);
    client.drop();

    // 400 events of 20 KB (8 MB) while away: 8× what one socket may buffer.
    const big = 'x'.repeat(20_000);
    const missedIds: string[] = [];
    for (let n = 0; n < 400; n++) {
      const res = await fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: { n, big } }),
      });
      missedIds.push(((await res.json()) as { id: string }).id);
    }
    const back = await TestClient.session(gw.url, {
      token,
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        lastEventIds: { [channel]: lastId(first) },
      },
    });
    clients.push(back.client);
    expect(back.welcome.recovered).toBe(true);
    await back.client.waitForEvents(400, channel, 20_000);
    await settle(back.client);
    expect(ids(back.client.events(channel))).toEqual(missedIds);
    expect(back.client.closed).toBeUndefined();
  });
});
