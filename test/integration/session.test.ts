/**
 * A first session (issue 2, "What a user must be able to do"): hello, subscribe,
 * publish from a backend and from the client; and development mode, whose tokens
 * work on every dev process sharing Redis, across restarts, and allow actions.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ActionContext, type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import { devSecretKey } from '../../src/auth/dev-secret.ts';
import { createTokenVerifier } from '../../src/auth/token-verifier.ts';
import type { AckFrame, ErrorFrame, ReplyFrame, ServerFrame } from '../../src/shared/frames.ts';
import { publishMany } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

describe('a first session', () => {
  it('hello → welcome, subscribe, and receive what a backend publishes', async () => {
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'alice' }),
    });
    expect(welcome).toMatchObject({ userId: 'alice', resumed: false, maxMessageBytes: 65536 });
    expect(welcome.correlationId).toBeTruthy();
    client.send({ type: 'subscribe', channel: 'room:1', ref: 's1' });
    await client.next((f) => f.type === 'subscribed' && f.ref === 's1');
    const id = await publishHttp(gw.http, 'room:1', { text: 'hello' });
    await client.waitForEvents(1);
    expect(client.events()[0]).toMatchObject({ channel: 'room:1', id, data: { text: 'hello' } });
    client.close();
  });

  it('a client publishes where its token allows, and every subscriber gets it once', async () => {
    const token = await mintToken({ sub: 'bob', channels: ['chat:*'], publish: ['chat:*'] });
    const a = await TestClient.session(gw.url, { token });
    const b = await TestClient.session(gw.url, { token });
    for (const { client } of [a, b]) {
      client.send({ type: 'subscribe', channel: 'chat:x', ref: 's' });
      await client.next((f) => f.type === 'subscribed');
    }
    a.client.send({ type: 'publish', channel: 'chat:x', data: { n: 1 }, ref: 'p1' });
    const ack = (await a.client.next((f) => f.type === 'ack')) as AckFrame;
    await b.client.waitForEvents(1);
    await a.client.waitForEvents(1);
    expect(b.client.events().map((e) => e.id)).toEqual([ack.id]);
    expect(a.client.events().map((e) => e.id)).toEqual([ack.id]);
    a.client.send({ type: 'publish', channel: 'news', data: {}, ref: 'p2' });
    const denied = (await a.client.next((f) => f.type === 'error')) as ErrorFrame;
    expect(denied).toMatchObject({
      code: 'PUBLISH_FORBIDDEN',
      ref: 'p2',
      correlationId: a.welcome.correlationId,
    });
    a.client.close();
    b.client.close();
  });
});

describe('POST /publish, as docs/protocol.md §10 describes it', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
      body,
    });
  const answer = async (res: Response) => ({ status: res.status, body: await res.json() });

  it('200 with the channel, the event ID and the correlation ID (the caller’s, or a generated one)', async () => {
    const given = await post(JSON.stringify({ channel: 'room:http', data: { n: 1 } }), {
      'x-correlation-id': 'backend-job-7',
    });
    expect(await answer(given)).toEqual({
      status: 200,
      body: { channel: 'room:http', id: expect.stringMatching(/^\d+-\d+$/), correlationId: 'backend-job-7' },
    });
    const generated = await answer(await post(JSON.stringify({ channel: 'room:http', data: null })));
    expect(generated.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    // x-api-key is accepted as well as the bearer header.
    const res = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY },
      body: JSON.stringify({ channel: 'room:http', data: 2 }),
    });
    expect(res.status).toBe(200);
  });

  it('the Bearer scheme is read in any case (RFC 9110 §11.1)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const res = await post(JSON.stringify({ channel: 'room:http', data: scheme }), {
        authorization: `${scheme} ${TEST_API_KEY}`,
      });
      expect(res.status, scheme).toBe(200);
    }
  });

  it('401 without a valid key, 400 for a bad body, 403 for an inbox channel, 413 over the size limit', async () => {
    expect(await answer(await post('{}', { authorization: 'Bearer not-a-key' }))).toEqual({
      status: 401,
      body: {
        error: 'UNAUTHORIZED',
        message: 'POST /publish needs authorization: Bearer <API key>',
        correlationId: expect.any(String),
      },
    });
    for (const bad of [
      'not json',
      JSON.stringify({ channel: 'room:http' }),
      JSON.stringify({ channel: 'room:http', data: 1, extra: true }),
      JSON.stringify({ channel: 'room with spaces', data: 1 }),
    ]) {
      expect(await answer(await post(bad)), bad).toMatchObject({
        status: 400,
        body: { error: 'MALFORMED_MESSAGE', message: expect.any(String) },
      });
    }
    // An unknown field is named, as on the control routes and in frames.
    expect(
      await answer(await post(JSON.stringify({ channel: 'room:http', data: 1, extra: true }))),
    ).toMatchObject({
      body: { message: '/ must NOT have additional properties "extra"' },
    });
    expect(await answer(await post(JSON.stringify({ channel: 'inbox:someone', data: 1 })))).toEqual({
      status: 403,
      body: {
        error: 'PUBLISH_FORBIDDEN',
        message: 'inbox channels carry action replies only',
        correlationId: expect.any(String),
      },
    });
    const big = JSON.stringify({ channel: 'room:http', data: 'x'.repeat(70 * 1024) });
    expect(await answer(await post(big))).toMatchObject({
      status: 413,
      body: { error: 'MESSAGE_TOO_LARGE' },
    });
  });
});

describe('development mode (no auth configured)', () => {
  const gateways: TestGateway[] = [];
  const clients: TestClient[] = [];
  const workers: ActionWorker[] = [];
  let prefix: string;
  afterEach(async () => {
    for (const client of clients.splice(0)) client.drop();
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
  });

  /** A dev-mode gateway process; all of one test's share Redis and prefix, as `npm start` twice would. */
  async function devGateway(): Promise<TestGateway> {
    const gw = await startTestGateway({ AUTH_JWT_SECRET: '', REDIS_PREFIX: prefix });
    expect(gw.gateway.core.config.devMode).toBe(true);
    gateways.push(gw);
    return gw;
  }

  async function devToken(gw: TestGateway, query: string): Promise<string> {
    const res = await fetch(`${gw.http}/dev/token?${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }

  async function session(gw: TestGateway, hello: Record<string, unknown>) {
    const started = await TestClient.session(gw.url, hello);
    clients.push(started.client);
    return started;
  }

  beforeAll(() => {
    prefix = `dev${randomBytes(4).toString('hex')}`;
  });

  it('every verifier on one Redis and prefix signs with the same secret, kept under the prefix', async () => {
    const redis = connectTestRedis();
    try {
      const shared = { redis, prefix: `dev${randomBytes(4).toString('hex')}` };
      const first = await createTokenVerifier({ requireExp: false }, true, shared);
      const second = await createTokenVerifier({ requireExp: false }, true, shared); // another process, or a restart
      const token = await first.mint?.({ sub: 'dora' });
      await expect(second.verify(token)).resolves.toMatchObject({ userId: 'dora' });
      expect(await redis.exists(devSecretKey(shared.prefix))).toBe(1);
      // Another prefix is another deployment: its tokens are not these.
      const elsewhere = await createTokenVerifier({ requireExp: false }, true, {
        redis,
        prefix: `${shared.prefix}x`,
      });
      await expect(elsewhere.verify(token)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    } finally {
      redis.disconnect();
    }
  });

  it('a printed token works on a second process and after a restart, and the session resumes losslessly', async () => {
    const a = await devGateway();
    const token = await devToken(a, 'sub=carol&channels=room:*');
    const first = await session(a, { token });
    first.client.send({ type: 'subscribe', channel: 'room:dev', ref: 's' });
    await first.client.next((f) => f.type === 'subscribed');
    const before = await publishHttp(a.http, 'room:dev', { n: 0 });
    await first.client.waitForEvents(1);
    first.client.drop();

    const b = await devGateway(); // a second process on the same Redis
    const during = await publishMany(b.http, 'room:dev', 5);
    await a.stop(); // the first process is gone for good
    gateways.splice(gateways.indexOf(a), 1);
    const resume = { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken };
    const second = await session(b, { token, resume: { ...resume, lastEventIds: { 'room:dev': before } } });
    expect(second.welcome).toMatchObject({ userId: 'carol', resumed: true, recovered: true });
    await second.client.waitForEvents(5);
    expect(ids(second.client.events())).toEqual(during);
    second.client.close();

    await b.stop(); // restart: every process gone, a new one on the same Redis
    gateways.splice(gateways.indexOf(b), 1);
    const c = await devGateway();
    const third = await session(c, { token });
    expect(third.welcome).toMatchObject({ userId: 'carol', resumed: false });
  });

  it('a token from GET /dev/token may invoke actions, as the README example does', async () => {
    const gw = await devGateway();
    workers.push(startActionWorker({ redisUrl: gw.redisUrl, prefix, handlers: { echo: (data) => data } }));
    const { client } = await session(gw, { token: await devToken(gw, 'sub=dave') });
    client.send({ type: 'action', ref: 'a1', name: 'echo', data: { hi: 1 } });
    const answer = await client.next((f) => (f.type === 'reply' || f.type === 'error') && f.ref === 'a1');
    expect(answer).toMatchObject({ type: 'reply', ok: true, data: { hi: 1 } });
  });

  it('GET /dev/token refuses a sub no gateway would take (over 256 characters) with 400, naming it', async () => {
    const gw = await devGateway();
    const res = await fetch(`${gw.http}/dev/token?sub=${'u'.repeat(257)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'MALFORMED_MESSAGE',
      message: expect.stringMatching(/^sub: /),
    });
    expect(
      (await session(gw, { token: await devToken(gw, `sub=${'u'.repeat(256)}`) })).welcome,
    ).toMatchObject({
      userId: 'u'.repeat(256),
    });
  });

  it('GET /dev/token refuses an unknown or repeated parameter and a broken escape, as every route does', async () => {
    const gw = await devGateway();
    for (const query of ['subb=alice', 'sub=alice&sub=bob', 'sub=%ZZ', 'sub=%ED%A0%80', 'channel=room:*']) {
      const res = await fetch(`${gw.http}/dev/token?${query}`);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'MALFORMED_MESSAGE' });
    }
    const token = await devToken(gw, 'sub=a+b%2Fc&channels=room:*');
    expect((await session(gw, { token })).welcome).toMatchObject({ userId: 'a b/c' });
  });

  it('GET /dev/token: a list left out allows everything, one given empty allows nothing', async () => {
    const gw = await devGateway();
    const claims = async (query: string) =>
      ((await (await fetch(`${gw.http}/dev/token?${query}`)).json()) as { claims: Record<string, unknown> })
        .claims;
    expect(await claims('sub=fay')).toMatchObject({ channels: ['*'], publish: ['*'], actions: ['*'] });
    expect(await claims('sub=fay&channels=&publish=')).toMatchObject({
      channels: [],
      publish: [],
      actions: ['*'],
    });
    const { client } = await session(gw, { token: await devToken(gw, 'sub=fay&channels=') });
    client.send({ type: 'subscribe', ref: 's', channel: 'room:1' });
    expect(await client.next((f) => f.type === 'error' && f.ref === 's')).toMatchObject({
      code: 'FORBIDDEN_CHANNEL',
    });
  });

  it('GET /dev/token mints the actions and tier it is asked for', async () => {
    const gw = await devGateway();
    const seen: ActionContext[] = [];
    const handlers = {
      'orders.create': (_: unknown, ctx: ActionContext) => {
        seen.push(ctx);
        return { orderId: 1 };
      },
      echo: (data: unknown) => data,
    };
    workers.push(startActionWorker({ redisUrl: gw.redisUrl, prefix, handlers }));
    const token = await devToken(gw, 'sub=erin&actions=orders.*&tier=pro');
    const { client } = await session(gw, { token });
    client.send({ type: 'action', ref: 'ok', name: 'orders.create', data: {} });
    client.send({ type: 'action', ref: 'no', name: 'echo', data: {} });
    const answered = (ref: string) => (f: ServerFrame) =>
      (f.type === 'reply' || f.type === 'error') && f.ref === ref;
    expect((await client.next(answered('ok'))) as ReplyFrame).toMatchObject({ type: 'reply', ok: true });
    expect((await client.next(answered('no'))) as ErrorFrame).toMatchObject({ code: 'ACTION_FORBIDDEN' });
    expect(seen.map((ctx) => ctx.tier)).toEqual(['pro']);
  });
});
