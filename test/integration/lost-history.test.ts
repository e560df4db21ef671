/**
 * Lost history is always reported (issue 10, item 1): every channel log has an
 * epoch, and a client whose position belongs to a history that is gone — Redis
 * lost it and the log was created anew, or its IDs went backwards — hears
 * `recovered: false` and gets everything the log holds now, never a silent gap — over both
 * transports (WebSocket and the SSE fallback, issue 17): a client of each shares one Redis
 * loss, where a loss costs a restart, and the cheap cases run once per transport.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { EventLog } from '../../src/channels/event-log.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { HistoryPageFrame, SubscribedFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, lastId, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** On `redisServer`, or on the run's Redis (a single server, a cluster or Sentinel: vitest.config.ts). */
async function gatewayOn(redisServer?: RedisServerHandle): Promise<TestGateway> {
  const gw = await startTestGateway(redisServer ? { REDIS_URL: redisServer.url } : {});
  cleanups.push(() => gw.stop());
  return gw;
}

async function session(gw: TestGateway, hello: Record<string, unknown>, transport: Transport) {
  const opened = await TestClient.session(endpoint(gw, transport), hello);
  cleanups.push(() => opened.client.drop());
  return opened;
}

async function subscribe(client: TestClient, channel: string, position?: { from: string; epoch?: string }) {
  const ref = randomUUID().slice(0, 8);
  client.send({ type: 'subscribe', channel, ref, ...position });
  return (await client.next((f) => f.type === 'subscribed' && f.ref === ref)) as SubscribedFrame;
}

const readyStatus = (gw: TestGateway) =>
  fetch(`${gw.http}/readyz`)
    .then((res) => res.status)
    .catch(() => 0);

// These restart a Redis of their own, empty: a single server. A cluster or Sentinel losing
// history is test/integration/redis-failover.test.ts's.
const ownServer = describe.runIf(inject('redisTopology') === 'standalone');

ownServer('Redis without persistence loses everything while clients are away', () => {
  it('a client back with its last ID and epoch hears recovered:false and gets every new event', async () => {
    let redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const gw = await gatewayOn(redisServer);
    const token = await mintToken({ sub: 'away' });
    const away = [];
    for (const transport of TRANSPORTS) {
      const channel = `lost:${randomUUID().slice(0, 8)}`;
      const { client } = await session(gw, { token }, transport);
      const subscribed = await subscribe(client, channel);
      expect(subscribed.epoch).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
      const before = await publishMany(gw.http, channel, 5);
      await client.waitForEvents(5);
      client.drop();
      away.push({ transport, channel, subscribed, before });
    }

    redisServer.process.kill('SIGKILL');
    await redisServer.stop();
    redisServer = await startRedisServer({ port: redisServer.port }); // empty: nothing was kept
    await eventually(async () => (await readyStatus(gw)) === 200, 'the gateway back on Redis', 20_000);

    for (const { transport, channel, subscribed, before } of away) {
      const after = await publishMany(gw.http, channel, 3);
      // The session is gone with the rest: a new one, then the channel from where it was.
      const back = await session(
        gw,
        { token, resume: { sessionId: 'gone', resumeToken: 'gone' } },
        transport,
      );
      const again = await subscribe(back.client, channel, { from: lastId(before), epoch: subscribed.epoch });
      expect(again, transport).toMatchObject({ recovered: false, after: '0-0' });
      expect(again.epoch).not.toBe(subscribed.epoch);
      await back.client.waitForEvents(after.length, channel);
      await settle(back.client);
      expect(ids(back.client.events(channel))).toEqual(after);
    }
  });

  it('a client connected through it is closed to resume, and its resume says recovered:false', async () => {
    let redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const gw = await gatewayOn(redisServer);
    const present = [];
    for (const transport of TRANSPORTS) {
      const channel = `lost-live:${randomUUID().slice(0, 8)}`;
      const { client } = await session(gw, { token: await mintToken({ sub: 'present' }) }, transport);
      const subscribed = await subscribe(client, channel);
      present.push({ transport, channel, client, subscribed });
    }
    const before = new Map<string, string[]>();
    for (const { channel, client } of present) {
      before.set(channel, await publishMany(gw.http, channel, 3));
      await client.waitForEvents(3);
    }

    redisServer.process.kill('SIGKILL');
    await redisServer.stop();
    redisServer = await startRedisServer({ port: redisServer.port });
    await eventually(async () => (await readyStatus(gw)) === 200, 'the gateway back on Redis', 20_000);

    for (const { transport, channel, client, subscribed } of present) {
      const after = await publishMany(gw.http, channel, 2);
      // Its reader saw the new epoch: the connection is closed so the client resumes, told why.
      expect(await client.next((f) => f.type === 'error', 15_000)).toMatchObject({
        code: 'SERVICE_RESTART',
        detail: expect.stringMatching(/lost events before delivery \(Redis lost or restored its data\)/),
      });
      expect((await client.waitClosed(15_000)).code, transport).toBe(1012);
      const back = await session(gw, { token: await mintToken({ sub: 'present' }) }, transport);
      const position = { from: lastId(before.get(channel) as string[]), epoch: subscribed.epoch };
      const again = await subscribe(back.client, channel, position);
      expect(again.recovered).toBe(false);
      await back.client.waitForEvents(after.length, channel);
      expect(ids(back.client.events(channel))).toEqual(after);
    }
  });
});

ownServer(
  'Redis restarted from an older copy of its data (a restored RDB, an AOF short of its last writes)',
  () => {
    it('acked events it no longer holds are reported: the resume says recovered:false, though no one read the channel live', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-older-copy-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      let redisServer = await startRedisServer({ dir });
      cleanups.push(() => redisServer.stop());
      const gw = await gatewayOn(redisServer);
      const channel = `older:${randomUUID().slice(0, 8)}`;
      const token = await mintToken({ sub: 'offline' });
      const first = await session(gw, { token }, 'websocket');
      const subscribed = await subscribe(first.client, channel);
      const seen = await publishMany(gw.http, channel, 3);
      await first.client.waitForEvents(3);
      first.client.drop(); // nobody on this gateway reads the channel from here on

      const redis = new Redis(redisServer.url);
      await redis.save(); // the copy it comes back from: the session and these three events
      redis.disconnect();
      const acked = await publishMany(gw.http, channel, 3);
      expect(acked).toHaveLength(3);
      redisServer.process.kill('SIGKILL');
      await redisServer.stop();
      redisServer = await startRedisServer({ dir, port: redisServer.port });
      await eventually(async () => (await readyStatus(gw)) === 200, 'the gateway back on Redis', 20_000);
      // The backend goes on publishing: the log's newest ID passes the lost ones.
      const later = await publishMany(gw.http, channel, 2);

      const resume = {
        sessionId: first.welcome.sessionId,
        resumeToken: first.welcome.resumeToken,
        lastEventIds: { [channel]: lastId(seen) },
        epochs: { [channel]: subscribed.epoch },
      };
      const back = await session(gw, { token, resume }, 'websocket');
      expect(back.welcome).toMatchObject({ resumed: true, recovered: false });
      const position = back.welcome.channels.find((c) => c.channel === channel);
      expect(position?.recovered).toBe(false);
      expect(position?.epoch).not.toBe(subscribed.epoch);
      await back.client.waitForEvents(later.length, channel);
      await settle(back.client);
      // What it gets is what the log holds now, told as a new history: the lost three never come.
      expect(ids(back.client.events(channel))).toEqual(expect.arrayContaining(later));
      expect(ids(back.client.events(channel))).not.toEqual(expect.arrayContaining(acked.slice(0, 1)));
    });
  },
);

/**
 * What a failover to a replica that missed the last writes leaves: the stream as it was
 * before them (same epoch), then appends made after the failover, whose IDs pass the lost
 * ones. DUMP before the writes and RESTORE after is that state, exactly.
 */
async function failOverMissing(
  redis: Pick<Redis, 'restore' | 'xadd'>,
  key: string,
  before: Buffer,
): Promise<string> {
  await redis.restore(key, 0, before, 'REPLACE');
  return (await redis.xadd(
    key,
    '*',
    'd',
    '{"after":"failover"}',
    't',
    String(Date.now()),
    'c',
    'test',
  )) as string;
}

/** A gateway on a redis-server of its own (the test restores or flushes it), and a plain connection to it. */
async function gatewayOnOwnRedis(): Promise<{ gw: TestGateway; redis: Redis }> {
  const redisServer = await startRedisServer();
  cleanups.push(() => redisServer.stop());
  const gw = await gatewayOn(redisServer);
  const redis = new Redis(redisServer.url);
  cleanups.push(() => redis.quit());
  return { gw, redis };
}

ownServer('a failover to a replica that missed writes, and appends after it', () => {
  it('a subscriber reading live is closed to resume once its reader finds its last event gone; the resume says recovered:false', async () => {
    const { gw, redis } = await gatewayOnOwnRedis();
    const channel = `failover:${randomUUID().slice(0, 8)}`;
    const key = `${gw.prefix}:{c:${channel}}`;
    const token = await mintToken({ sub: 'reader' });
    const { client } = await session(gw, { token }, 'websocket');
    const subscribed = await subscribe(client, channel);
    await publishMany(gw.http, channel, 3);
    await client.waitForEvents(3);
    const replicaHad = await redis.dumpBuffer(key);
    const lost = await publishMany(gw.http, channel, 2); // acked, delivered, never replicated
    await client.waitForEvents(5);

    const later = await failOverMissing(redis, key, replicaHad as Buffer);
    // The failover drops the gateway's subscriber connection: its reader catches up, and the
    // log's newest ID is past what it delivered — only the last event's absence tells.
    await redis.client('KILL', 'TYPE', 'pubsub');
    expect(await client.next((f) => f.type === 'error', 15_000)).toMatchObject({ code: 'SERVICE_RESTART' });
    expect((await client.waitClosed(15_000)).code).toBe(1012);
    expect(ids(client.events(channel))).not.toContain(later);

    const back = await session(gw, { token }, 'websocket');
    const again = await subscribe(back.client, channel, { from: lastId(lost), epoch: subscribed.epoch });
    expect(again.recovered).toBe(false);
    expect(again.epoch).not.toBe(subscribed.epoch); // the reader renewed it: every holder hears
    await back.client.waitForEvents(1, channel);
    expect(ids(back.client.events(channel))).toContain(later);
  });
});

ownServer(
  'a failover that lost acked events of a channel no one reads, the connections up, appends going on',
  () => {
    it('the next append gives the log a new epoch: a client away at an event before the hole resumes recovered:false', async () => {
      const { gw, redis } = await gatewayOnOwnRedis();
      const channel = `unread:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      const { client } = await session(gw, { token: await mintToken({ sub: 'away' }) }, 'websocket');
      const subscribed = await subscribe(client, channel);
      const seen = await publishMany(gw.http, channel, 3);
      await client.waitForEvents(3);
      client.drop(); // away: no one reads the channel now
      const replicaHad = await redis.dumpBuffer(key);
      await publishMany(gw.http, channel, 4); // acked, never replicated

      // The promoted replica answers the same connection (a cluster's MOVED does this): no
      // reconnect, no slot-map refresh has told the gateway yet, and the publishing goes on.
      await redis.restore(key, 0, replicaHad as Buffer, 'REPLACE');
      const after = await publishMany(gw.http, channel, 2);

      const back = await session(gw, { token: await mintToken({ sub: 'away' }) }, 'websocket');
      const again = await subscribe(back.client, channel, { from: lastId(seen), epoch: subscribed.epoch });
      expect(again.recovered).toBe(false);
      expect(again.epoch).not.toBe(subscribed.epoch);
      await back.client.waitForEvents(after.length, channel);
      expect(ids(back.client.events(channel))).toEqual(expect.arrayContaining(after));
    });

    it('appends in flight with the same acked event renew the epoch once for the hole', async () => {
      const { gw, redis } = await gatewayOnOwnRedis();
      const channel = `inflight:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      await publishMany(gw.http, channel, 3);
      const replicaHad = await redis.dumpBuffer(key);
      await publishMany(gw.http, channel, 2); // acked, never replicated
      const announcements = redis.duplicate();
      cleanups.push(() => announcements.quit());
      const renewals: string[] = [];
      announcements.on('message', (_key: string, message: string) => {
        const header = JSON.parse(message.slice(0, message.indexOf('\n'))) as unknown[];
        if (typeof header[4] === 'string') renewals.push(header[4]);
      });
      await announcements.subscribe(key);
      await redis.restore(key, 0, replicaHad as Buffer, 'REPLACE');
      await publishMany(gw.http, channel, 8, 8); // eight at once, each carrying the lost ack
      await sleep(500);
      expect(renewals).toHaveLength(1);
    });

    it('a second failover that loses all a renewed epoch held, right where it began, gives another: a client away at that start resumes recovered:false', async () => {
      const { gw, redis } = await gatewayOnOwnRedis();
      const channel = `twice:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      const reader = await session(gw, { token: await mintToken({ sub: 'reader' }) }, 'websocket');
      await subscribe(reader.client, channel);
      await publishMany(gw.http, channel, 3);
      await reader.client.waitForEvents(3);
      const firstReplica = await redis.dumpBuffer(key);
      await publishMany(gw.http, channel, 2);
      await reader.client.waitForEvents(5);
      // First failover: the reader finds its last event gone and gives the log a new epoch,
      // beginning at the newest event held; no append since.
      await redis.restore(key, 0, firstReplica as Buffer, 'REPLACE');
      await redis.client('KILL', 'TYPE', 'pubsub');
      await reader.client.waitClosed(15_000);
      const away = await session(gw, { token: await mintToken({ sub: 'away' }) }, 'websocket');
      const at = await subscribe(away.client, channel); // at the epoch's start, in it
      away.client.drop();
      await sleep(500);
      // Second failover: the replica had the new epoch and nothing after it.
      const secondReplica = await redis.dumpBuffer(key);
      const lost = await publishMany(gw.http, channel, 2); // acked by this process, never replicated
      await redis.restore(key, 0, secondReplica as Buffer, 'REPLACE');
      const after = await publishMany(gw.http, channel, 1);

      const back = await session(gw, { token: await mintToken({ sub: 'away' }) }, 'websocket');
      const again = await subscribe(back.client, channel, { from: at.after, epoch: at.epoch });
      expect(again.recovered).toBe(false);
      expect(again.epoch).not.toBe(at.epoch);
      await back.client.waitForEvents(1, channel);
      expect(ids(back.client.events(channel))).toEqual(expect.arrayContaining(after));
      expect(ids(back.client.events(channel))).not.toContain(lost[0]);
    });
  },
);

ownServer('Redis loses data while the gateway stays connected (FLUSHALL, an eviction)', () => {
  it('a subscriber reading the channel live is closed to resume, and its resume says recovered:false', async () => {
    const redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const gw = await gatewayOn(redisServer);
    const channel = `flushed:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'live' });
    const { client } = await session(gw, { token }, 'websocket');
    const subscribed = await subscribe(client, channel);
    const before = await publishMany(gw.http, channel, 3);
    await client.waitForEvents(3);

    const redis = new Redis(redisServer.url);
    await redis.flushall(); // the connections stay up: no reconnect tells the gateway
    redis.disconnect();
    const after = await publishMany(gw.http, channel, 2);

    // The first append made the log anew under a new epoch, and said so: not carried on silently.
    expect(await client.next((f) => f.type === 'error', 10_000)).toMatchObject({
      code: 'SERVICE_RESTART',
      detail: expect.stringMatching(/lost events before delivery/),
    });
    expect((await client.waitClosed(10_000)).code).toBe(1012);
    const back = await session(gw, { token }, 'websocket'); // the session went with the rest
    const again = await subscribe(back.client, channel, { from: lastId(before), epoch: subscribed.epoch });
    expect(again).toMatchObject({ recovered: false, after: '0-0' });
    expect(again.epoch).not.toBe(subscribed.epoch);
    await back.client.waitForEvents(after.length, channel);
    await settle(back.client);
    expect(ids(back.client.events(channel))).toEqual(after);
  });
});

ownServer('a log given a new epoch without an append, while another process reads it live', () => {
  /** Gateways `a` and `b` on one Redis of their own, one key prefix; a client on `a` reading `channel` live. */
  async function liveReaderOnA() {
    const redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const a = await gatewayOn(redisServer);
    const b = await startTestGateway({ REDIS_URL: redisServer.url, REDIS_PREFIX: a.prefix });
    cleanups.push(() => b.stop());
    const redis = new Redis(redisServer.url);
    cleanups.push(() => redis.quit());
    const channel = `anew:${randomUUID().slice(0, 8)}`;
    const { client } = await session(a, { token: await mintToken({ sub: 'reader' }) }, 'websocket');
    const subscribed = await subscribe(client, channel);
    const before = await publishMany(a.http, channel, 3);
    await client.waitForEvents(3);
    return { a, b, redis, channel, client, subscribed, before, key: `${a.prefix}:{c:${channel}}` };
  }

  it('removed, then made anew by a history read on another process: the reader here closes its subscribers, and a new subscriber gets the new epoch', async () => {
    const { a, b, redis, channel, client, subscribed, key } = await liveReaderOnA();
    await redis.del(key); // an eviction, say: the gateways' connections stay up
    const read = await fetch(`${b.http}/channels/${channel}/history`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    const { epoch } = (await read.json()) as { epoch: string };
    expect(epoch).not.toBe(subscribed.epoch);
    const after = await publishMany(b.http, channel, 2); // appends to the log the read made: not "fresh"

    expect(await client.next((f) => f.type === 'error', 10_000)).toMatchObject({
      code: 'SERVICE_RESTART',
      detail: expect.stringMatching(/lost events before delivery/),
    });
    expect((await client.waitClosed(10_000)).code).toBe(1012);
    expect(ids(client.events(channel))).not.toEqual(expect.arrayContaining(after.slice(0, 1)));
    // The process that missed the change hands out the log's epoch as it is now.
    const { client: next } = await session(a, { token: await mintToken({ sub: 'next' }) }, 'websocket');
    expect((await subscribe(next, channel)).epoch).toBe(epoch);
  });

  it('renewed by another process (it found events it had acked gone): the reader here closes its subscribers', async () => {
    const { a, b, redis, channel, client, subscribed, before } = await liveReaderOnA();
    // What another process does when Redis came back without events it had acked
    // (EventLog.confirmAcked), on a log of its own over the same Redis.
    const renewed = await new EventLog(redis, redisKeys(a.prefix), 1000).renewEpoch(
      channel,
      subscribed.epoch,
    );
    expect(renewed).not.toBe(subscribed.epoch);

    expect(await client.next((f) => f.type === 'error', 10_000)).toMatchObject({ code: 'SERVICE_RESTART' });
    expect((await client.waitClosed(10_000)).code).toBe(1012);
    const back = await session(b, { token: await mintToken({ sub: 'reader' }) }, 'websocket');
    const again = await subscribe(back.client, channel, { from: lastId(before), epoch: subscribed.epoch });
    expect(again).toMatchObject({ recovered: false, epoch: renewed });
  });
});

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  /** A session `sub` on a new gateway that subscribed to a fresh `stem:` channel, saw `count` events and went away. */
  async function sawThenLeft(stem: string, sub: string, count: number) {
    const gw = await gatewayOn();
    const channel = `${stem}:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub });
    const first = await session(gw, { token }, transport);
    const subscribed = await subscribe(first.client, channel);
    const seen = await publishMany(gw.http, channel, count);
    await first.client.waitForEvents(count);
    first.client.drop();
    return { gw, channel, token, first, subscribed, seen };
  }

  describe('a log whose IDs went backwards (a replica behind, a clock behind)', () => {
    it('a position past the log’s newest ID is answered recovered:false, from the start of what it holds', async () => {
      const { gw, channel, subscribed, seen } = await sawThenLeft('backwards', 'ahead', 3);
      const redis = connectTestRedis();
      cleanups.push(() => redis.quit());

      // The same log (same epoch) now ends below what the client saw, as after a failover
      // to a replica that missed writes, or appends from a clock that is behind.
      const key = `${gw.prefix}:{c:${channel}}`;
      await redis.xtrim(key, 'MAXLEN', 0);
      await redis.call('XSETID', key, '7-0');
      await redis.xadd(key, '8-0', 'd', '{"late":true}', 't', String(Date.now()), 'c', 'test');

      const back = await session(gw, { token: await mintToken({ sub: 'ahead' }) }, transport);
      const again = await subscribe(back.client, channel, { from: lastId(seen), epoch: subscribed.epoch });
      // Delivery restarts at the first event the log still holds (the ones before it were trimmed).
      expect(again).toMatchObject({
        recovered: false,
        after: '7-18446744073709551615',
        epoch: subscribed.epoch,
      });
      await back.client.waitForEvents(1, channel);
      expect(ids(back.client.events(channel))).toEqual(['8-0']);
    });
  });

  describe('a position lost in a failover, with later appends past it', () => {
    it('is answered recovered:false and continues after it; the epoch is not renewed on a client’s word', async () => {
      const gw = await gatewayOn();
      const redis = connectTestRedis();
      cleanups.push(() => redis.quit());
      const channel = `missing:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      const { client } = await session(gw, { token: await mintToken({ sub: 'gone' }) }, transport);
      const subscribed = await subscribe(client, channel);
      const kept = await publishMany(gw.http, channel, 3);
      await client.waitForEvents(3);
      const replicaHad = await redis.dumpBuffer(key);
      const lost = await publishMany(gw.http, channel, 2);
      await client.waitForEvents(5);
      client.drop();

      const later = await failOverMissing(redis, key, replicaHad as Buffer);
      const back = await session(gw, { token: await mintToken({ sub: 'gone' }) }, transport);
      const again = await subscribe(back.client, channel, { from: lastId(lost), epoch: subscribed.epoch });
      expect(again).toMatchObject({ recovered: false, after: lastId(lost), epoch: subscribed.epoch });
      await back.client.waitForEvents(1, channel);
      expect(ids(back.client.events(channel))).toEqual([later]);
      // A position the log still holds is whole as before.
      const other = await session(gw, { token: await mintToken({ sub: 'kept' }) }, transport);
      const held = await subscribe(other.client, channel, { from: lastId(kept), epoch: subscribed.epoch });
      expect(held.recovered).toBe(true);
    });
  });

  describe('history read from a position a failover lost, with later appends past it', () => {
    /** A page as HTTP (`epoch` or none) and the history frame give it, from `since`. */
    async function pages(gw: TestGateway, channel: string, since: string, epoch?: string) {
      const query = `?since=${since}${epoch ? `&epoch=${epoch}` : ''}`;
      const res = await fetch(`${gw.http}/channels/${channel}/history${query}`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      expect(res.status).toBe(200);
      const http = (await res.json()) as HistoryPageFrame;
      const { client } = await session(gw, { token: await mintToken({ sub: 'pager' }) }, transport);
      const ref = randomUUID().slice(0, 8);
      client.send({ type: 'history', ref, channel, since, ...(epoch ? { epoch } : {}) });
      const frame = (await client.next((f) => f.type === 'history' && f.ref === ref)) as HistoryPageFrame;
      client.drop();
      return { http, frame };
    }

    it('is answered recovered:false with gap "missing", with or without the epoch, as subscribe answers it; the page goes on after it', async () => {
      const gw = await gatewayOn();
      const redis = connectTestRedis();
      cleanups.push(() => redis.quit());
      const channel = `hist-missing:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      const kept = await publishMany(gw.http, channel, 3);
      const replicaHad = await redis.dumpBuffer(key);
      const lost = await publishMany(gw.http, channel, 2);
      const { epoch } = (await pages(gw, channel, lastId(kept))).http;

      const later = await failOverMissing(redis, key, replicaHad as Buffer);
      for (const given of [undefined, epoch]) {
        const { http, frame } = await pages(gw, channel, lastId(lost), given);
        for (const answer of [http, frame])
          expect(answer, `epoch ${given}`).toMatchObject({ recovered: false, gap: 'missing', epoch });
        expect(http.events.map((e) => e.id)).toEqual([later]);
        expect(frame.events).toEqual(http.events);
      }
      // A position after the hole is whole: no gap field.
      const whole = await pages(gw, channel, later);
      expect(whole.http).toMatchObject({ recovered: true, events: [] });
      expect(whole.http).not.toHaveProperty('gap');
    });
  });

  describe('history read from before a hole, once the log got a new epoch for it', () => {
    it('without the epoch it is answered recovered:false (gap "missing"), not whole: the log knows where its epoch began', async () => {
      const gw = await gatewayOn();
      const redis = connectTestRedis();
      cleanups.push(() => redis.quit());
      const channel = `hist-renewed:${randomUUID().slice(0, 8)}`;
      const key = `${gw.prefix}:{c:${channel}}`;
      const seen = await publishMany(gw.http, channel, 3);
      const replicaHad = await redis.dumpBuffer(key);
      const lost = await publishMany(gw.http, channel, 4); // acked, never replicated
      await redis.restore(key, 0, replicaHad as Buffer, 'REPLACE');
      // The gateway that acked them appends next: it finds them gone and renews the epoch.
      const after = await publishMany(gw.http, channel, 2);

      const read = async (query: string) => {
        const res = await fetch(`${gw.http}/channels/${channel}/history${query}`, {
          headers: { authorization: `Bearer ${TEST_API_KEY}` },
        });
        return (await res.json()) as HistoryPageFrame;
      };
      const page = await read(`?since=${seen[1]}`);
      expect(page).toMatchObject({ recovered: false, gap: 'missing' });
      // It goes on after the position: what the log still holds, then the later events.
      expect(page.events.map((e) => e.id)).toEqual([seen[2], ...after]);
      expect(page.events.map((e) => e.id)).not.toContain(lost[0]);
      // So does subscribe without an epoch: the same classification.
      const { client } = await session(gw, { token: await mintToken({ sub: 'late' }) }, transport);
      expect(await subscribe(client, channel, { from: lastId(seen) })).toMatchObject({
        recovered: false,
        after: lastId(seen),
      });
      // Paging on with the epoch the page gave is whole again; so is a position after the hole.
      expect(await read(`?since=${after[0]}`)).toMatchObject({ recovered: true });
      expect(await read(`?since=${seen[1]}&epoch=${page.epoch}`)).toMatchObject({ recovered: true });
      // Newest first, reading back from before the hole crosses nothing lost.
      expect(await read(`?since=${seen[1]}&reverse=true`)).toMatchObject({ recovered: true });
    });
  });

  describe('a position before the first event the log generated', () => {
    it('misses nothing: recovered:true on subscribe and resume, every event delivered once', async () => {
      const { gw, channel, token, first, subscribed, seen: sent } = await sawThenLeft('before', 'early', 3);

      for (const from of ['1-0', '0-1', `${Number(sent[0]?.split('-')[0]) - 1}-7`]) {
        const late = await session(gw, { token: await mintToken({ sub: 'late' }) }, transport);
        const again = await subscribe(late.client, channel, { from, epoch: subscribed.epoch });
        expect(again, from).toMatchObject({ recovered: true, after: from, epoch: subscribed.epoch });
        await late.client.waitForEvents(3, channel);
        expect(ids(late.client.events(channel)), from).toEqual(sent);
        late.client.drop();
      }
      const resumed = await session(
        gw,
        {
          token,
          resume: {
            sessionId: first.welcome.sessionId,
            resumeToken: first.welcome.resumeToken,
            lastEventIds: { [channel]: '1-0' },
            epochs: { [channel]: subscribed.epoch },
          },
        },
        transport,
      );
      expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
      await resumed.client.waitForEvents(3, channel);
      expect(ids(resumed.client.events(channel))).toEqual(sent);
    });
  });

  describe('a resume that finds the session', () => {
    it('carries each channel’s epoch in welcome, and a stale epoch from the client is caught', async () => {
      const { gw, channel, token, first, subscribed, seen: sent } = await sawThenLeft('epoch', 'keeper', 2);

      const resume = { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken };
      const same = await session(
        gw,
        {
          token,
          resume: {
            ...resume,
            lastEventIds: { [channel]: lastId(sent) },
            epochs: { [channel]: subscribed.epoch },
          },
        },
        transport,
      );
      const kept = same.welcome.channels.find((c) => c.channel === channel);
      expect(kept).toMatchObject({ recovered: true, after: lastId(sent), epoch: subscribed.epoch });
      same.client.drop();

      const stale = await session(
        gw,
        {
          token,
          resume: { ...resume, lastEventIds: { [channel]: lastId(sent) }, epochs: { [channel]: 'old' } },
        },
        transport,
      );
      expect(stale.welcome).toMatchObject({
        resumed: true,
        recovered: false,
      } satisfies Partial<WelcomeFrame>);
    });
  });
});
