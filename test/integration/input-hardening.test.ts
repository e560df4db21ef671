/**
 * No input can poison a session or a process, and every bad input gets its own
 * coded error (issue 10, items 2–6): names that are JavaScript object keys,
 * positions past 2^64 − 1 stored in a session, deep nesting, an action named like
 * an object key, invalid UTF-8, a flood of subscriptions — and data delivered
 * byte for byte as sent. What a client sends runs over both transports (WebSocket and the SSE
 * fallback, issue 17).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import type { ErrorFrame, ReplyFrame, SubscribedFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany, settle } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { monitorRedis } from '../support/redis-monitor.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
let redis: Redis;
const clients: TestClient[] = [];
const workers: ActionWorker[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '8' });
  redis = new Redis(gw.redisUrl);
});
afterAll(async () => {
  await redis.quit();
  await gw.stop();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

async function session(hello: Record<string, unknown> = {}, sub = 'hardy', url = gw.url) {
  const opened = await TestClient.session(url, { token: await mintToken({ sub }), ...hello });
  clients.push(opened.client);
  return opened;
}

async function subscribe(client: TestClient, channel: string) {
  const ref = randomUUID().slice(0, 8);
  client.send({ type: 'subscribe', channel, ref });
  return (await client.next((f) => (f.type === 'subscribed' || f.type === 'error') && f.ref === ref)) as
    | SubscribedFrame
    | ErrorFrame;
}

const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;

const OBJECT_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  const sessionHere = (hello: Record<string, unknown> = {}, sub = 'hardy') =>
    session(hello, sub, endpoint(gw, transport));

  describe('channels named like JavaScript object keys', () => {
    it('are subscribed, remembered and resumed like any other, with nothing dropped', async () => {
      const first = await sessionHere({}, 'keys');
      for (const channel of OBJECT_KEYS)
        expect((await subscribe(first.client, channel)).type).toBe('subscribed');
      first.client.drop();
      const published = new Map<string, string[]>();
      for (const channel of OBJECT_KEYS) published.set(channel, await publishMany(gw.http, channel, 2));

      // Resumed without lastEventIds: the session's own positions are used for every channel.
      const back = await sessionHere(
        { resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken } },
        'keys',
      );
      expect(back.welcome.resumed).toBe(true);
      expect(back.welcome.channels.map((c) => c.channel).sort()).toEqual([...OBJECT_KEYS].sort());
      for (const channel of OBJECT_KEYS) {
        await back.client.waitForEvents(2, channel);
        expect(ids(back.client.events(channel))).toEqual(published.get(channel));
      }
      expect(back.client.frames.filter((f) => f.type === 'error')).toEqual([]);
    });
  });

  describe('a session whose stored position is unusable', () => {
    it('resumes with the gap said (recovered:false), not INTERNAL, and resumes again after', async () => {
      const channel = `stored:${randomUUID().slice(0, 8)}`;
      const first = await sessionHere({}, 'damaged');
      await subscribe(first.client, channel);
      first.client.drop();
      // A position past 2^64 − 1, as an older gateway could have stored it.
      await redis.hset(
        `${gw.prefix}:{s:${first.welcome.sessionId}}`,
        `ch:${channel}`,
        '0-99999999999999999999',
      );
      const sent = await publishMany(gw.http, channel, 2);
      const resume = { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken };

      const back = await sessionHere({ resume }, 'damaged');
      expect(back.welcome.channels).toEqual([expect.objectContaining({ channel, recovered: false })]);
      await back.client.waitForEvents(2, channel);
      expect(ids(back.client.events(channel))).toEqual(sent);
      await settle(back.client);
      expect(back.client.closed).toBeUndefined();
      back.client.drop();

      const again = await sessionHere({ resume }, 'damaged');
      expect(again.welcome).toMatchObject({ resumed: true, recovered: true });
    });
  });

  describe('nesting past MAX_NESTING_DEPTH', () => {
    it('a socket publish is MALFORMED_MESSAGE naming the limit; the connection stays open', async () => {
      const { client } = await sessionHere();
      client.ws.send(`{"type":"publish","ref":"deep","channel":"deep:1","data":${deep}}`);
      const error = (await client.next((f) => f.type === 'error' && f.ref === 'deep')) as ErrorFrame;
      expect(error).toMatchObject({ code: 'MALFORMED_MESSAGE', category: 'client', retryable: false });
      expect(error.detail).toContain('64 levels');
      await settle(client);
      expect(client.closed).toBeUndefined();
    });
  });

  describe('invalid UTF-8 in a text frame', () => {
    it('is refused, counted as INVALID_UTF8, and the session resumes', async () => {
      let streamToken = '';
      // The SSE stream's connection token, as its first POST names it (docs/protocol.md §1.1).
      const sseFetch: typeof fetch = (input, init) => {
        streamToken ||= (init?.headers as Record<string, string> | undefined)?.['tether-connection'] ?? '';
        return fetch(input, init);
      };
      const client = await TestClient.connect(endpoint(gw, transport), {}, { sseFetch });
      clients.push(client);
      client.send({ type: 'hello', token: await mintToken({ sub: 'utf8' }) });
      const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      if (transport === 'websocket') {
        // A text frame (binary: false) whose bytes are not UTF-8: ws sends them unchecked.
        client.ws.send(bytes, { binary: false });
        // uWS cuts it (1006); an edge that hands it on answers it and closes with 1007.
        expect([1006, 1007]).toContain((await client.waitClosed()).code);
      } else {
        // POSTed as they are (the SDK sends strings): the gateway answers it and closes with 1007.
        const res = await fetch(`${endpoint(gw, transport)}/frames`, {
          method: 'POST',
          headers: { 'tether-connection': streamToken },
          body: bytes,
        });
        expect(res.status).toBe(204);
        expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'INVALID_UTF8' });
        expect(await client.waitClosed()).toEqual({ code: 1007, reason: 'INVALID_UTF8' });
      }
      const metrics = await (await fetch(`${gw.http}/metrics`)).text();
      expect(metrics).toMatch(/tether_errors_total\{code="INVALID_UTF8",category="client"\} [1-9]/);
      const back = await sessionHere(
        { resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken } },
        'utf8',
      );
      expect(back.welcome.resumed).toBe(true);
    });
  });

  describe('MAX_SUBSCRIPTIONS_PER_CONNECTION', () => {
    it('refuses one channel more with TOO_MANY_SUBSCRIPTIONS and its ref; the connection goes on', async () => {
      const { client } = await sessionHere();
      for (let n = 0; n < 8; n++) expect((await subscribe(client, `cap:${n}`)).type).toBe('subscribed');
      const refused = await subscribe(client, 'cap:8');
      expect(refused).toMatchObject({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', retryable: false });
      client.send({ type: 'unsubscribe', channel: 'cap:0', ref: 'u' });
      await client.next((f) => f.type === 'unsubscribed' && f.ref === 'u');
      expect((await subscribe(client, 'cap:8')).type).toBe('subscribed');
    });
  });
});

describe('MAX_SUBSCRIPTIONS_PER_CONNECTION, in Redis', () => {
  it('a subscribe writes one field of the session, whatever the count', async () => {
    const { client, welcome } = await session();
    for (let n = 0; n < 7; n++) await subscribe(client, `fields:${n}`);
    const written: string[][] = [];
    const feed = await monitorRedis(gw.redisUrl, (args) => {
      if (args.some((a) => a.includes(welcome.sessionId))) written.push(args);
    });
    await subscribe(client, 'fields:7');
    await eventually(() => written.some((args) => args.some((a) => a === 'ch:fields:7')), 'the write');
    feed.close();
    // MONITOR shows the script and the HSET it runs: both name the one channel, no other.
    const channelFields = new Set(written.flat().filter((a) => a.startsWith('ch:')));
    expect([...channelFields]).toEqual(['ch:fields:7']);
    const stored = await redis.hkeys(`${gw.prefix}:{s:${welcome.sessionId}}`);
    expect(stored.filter((f) => f.startsWith('ch:')).length).toBe(8);
  });
});

describe('an HTTP publish nested past MAX_NESTING_DEPTH', () => {
  it('an HTTP publish is 400 MALFORMED_MESSAGE, not a store error', async () => {
    const res = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: `{"channel":"deep:1","data":${deep}}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'MALFORMED_MESSAGE' });
  });
});

describe('an HTTP publish that is not UTF-8', () => {
  it('is 400 MALFORMED_MESSAGE, not delivered with U+FFFD in place of its bytes', async () => {
    const channel = `utf8:${randomUUID().slice(0, 8)}`;
    const res = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: Buffer.concat([
        Buffer.from(`{"channel":"${channel}","data":"A`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('B"}'),
      ]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'MALFORMED_MESSAGE',
      message: expect.stringContaining('UTF-8'),
    });
    const history = await fetch(`${gw.http}/channels/${channel}/history`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(((await history.json()) as { events: unknown[] }).events).toEqual([]);
  });
});

describe('actions named like object keys', () => {
  it.each(['constructor', '__proto__', 'toString'])(
    '%s is queued and answered UNKNOWN_ACTION by the worker',
    async (name) => {
      workers.push(startActionWorker({ redisUrl: gw.redisUrl, prefix: gw.prefix, handlers: {} }));
      const { client } = await session();
      client.send({ type: 'action', ref: `a-${name}`, name, data: {} });
      const answer = (await client.next(
        (f) => (f.type === 'reply' || f.type === 'error') && f.ref === `a-${name}`,
        10_000,
      )) as ReplyFrame | ErrorFrame;
      expect(answer).toMatchObject({ type: 'reply', ok: false, error: { code: 'UNKNOWN_ACTION' } });
    },
  );
});

describe('data, byte for byte', () => {
  const DATA = '{"n":12345678901234567890123,"f":1e400, "s":"\\u2028"}';

  /** The raw text of the first event frame a plain socket receives on `channel`. */
  async function rawEvent(channel: string, publish: () => Promise<unknown>): Promise<string> {
    const token = await mintToken({ sub: 'raw' });
    const ws = new WebSocket(gw.url);
    const texts: string[] = [];
    ws.on('message', (data) => texts.push(data.toString()));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', token }));
    ws.send(JSON.stringify({ type: 'subscribe', channel, ref: 's' }));
    await eventually(() => texts.some((t) => t.includes('"subscribed"')), 'subscribed');
    await publish();
    const event = await eventually(() => texts.find((t) => t.startsWith('{"type":"event"')), 'the event');
    ws.terminate();
    return event;
  }

  it('from a client publish', async () => {
    const channel = `exact:${randomUUID().slice(0, 8)}`;
    const { client } = await session();
    const event = await rawEvent(channel, async () => {
      client.ws.send(`{"type":"publish","ref":"x","channel":"${channel}","data":${DATA}}`);
      await client.next((f) => f.type === 'ack' && f.ref === 'x');
    });
    expect(event).toContain(`"data":${DATA}}`);
  });

  it('from a backend publish', async () => {
    const channel = `exact:${randomUUID().slice(0, 8)}`;
    const event = await rawEvent(channel, () =>
      fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: `{"channel":"${channel}","data":${DATA}}`,
      }),
    );
    expect(event).toContain(`"data":${DATA}}`);
  });
});
