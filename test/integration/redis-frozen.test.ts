/**
 * A Redis that freezes (SIGSTOP: the connection stays open, nothing is answered) with
 * requests already waiting on it. The gateway finds it not answering at its next health
 * PING (every 5 s, 2 s timeout) and must then answer every waiting request with a coded,
 * retryable STORE_UNAVAILABLE — a hello too, not HANDSHAKE_TIMEOUT — instead of leaving
 * them unanswered for as long as Redis is frozen. A publish so answered may still land
 * when Redis wakes: it says so, and lands at most once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startActionWorker } from '../../src/actions/action-worker.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { ErrorFrame, ServerFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany, sleep } from '../support/events.ts';
import {
  mintToken,
  startTestGateway,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

let redis: RedisServerHandle;
let gw: TestGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startTestGateway({ REDIS_URL: redis.url });
});
afterAll(async () => {
  redis?.process.kill('SIGCONT');
  await gw?.stop();
  await redis?.stop();
});

/** Frozen Redis is noticed within a PING interval plus its timeout; the margin is for a busy box. */
const NOTICED_WITHIN_MS = 20_000;

const errorFor =
  (ref: string) =>
  (f: ServerFrame): f is ErrorFrame =>
    f.type === 'error' && f.ref === ref;

describe('requests waiting on a Redis that froze', () => {
  it('are each answered STORE_UNAVAILABLE once the gateway finds it not answering', async () => {
    const channel = `frozen:${randomUUID().slice(0, 8)}`;
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'waiting' }) });
    const [before] = await publishMany(gw.http, channel, 1);
    const body = { channel, data: { n: 'http' } };

    const hello = await TestClient.connect(gw.url);
    redis.process.kill('SIGSTOP');
    try {
      client.send({ type: 'publish', channel, data: { n: 'socket' }, ref: 'pub', idempotencyKey: 'k1' });
      client.send({ type: 'history', channel, ref: 'hist' });
      client.send({ type: 'subscribe', channel, ref: 'sub', from: before });
      hello.send({ type: 'hello', token: await mintToken({ sub: 'arriving' }) });
      const httpPublish = fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // Every backend and operator route waiting on Redis: the same coded, retryable 503.
      const backendRoutes = [
        ['GET', `/channels/${channel}/history`, TEST_API_KEY],
        ['GET', '/users/waiting/sessions', TEST_API_KEY],
        ['POST', '/users/waiting/block', TEST_API_KEY],
        ['POST', '/ws/cleanup', TEST_ADMIN_KEY],
      ].map(([method, path, key]) =>
        fetch(`${gw.http}${path}`, { method, headers: { authorization: `Bearer ${key}` } }).then(
          async (res) => ({
            path,
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: await res.json(),
          }),
        ),
      );

      const published = await client.next(errorFor('pub'), NOTICED_WITHIN_MS);
      expect(published).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
      expect(published.detail).toMatch(
        /may still be added to the log.*; retry with the same idempotencyKey$/,
      );
      expect(await client.next(errorFor('hist'), NOTICED_WITHIN_MS)).toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      expect(await client.next(errorFor('sub'), NOTICED_WITHIN_MS)).toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      const refusedHello = await hello.next((f) => f.type === 'error', NOTICED_WITHIN_MS);
      expect(refusedHello).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect((await hello.waitClosed(NOTICED_WITHIN_MS)).code).toBe(1011);
      const http = await httpPublish;
      expect(http.status).toBe(503);
      expect(http.headers.get('retry-after')).toBe('1');
      expect(await http.json()).toMatchObject({
        error: 'STORE_UNAVAILABLE',
        retryAfterMs: 1000,
        // It had no key: the advice is not to retry with one it never had.
        message: expect.stringMatching(/may still be added to the log.*a retry may store it twice/),
      });
      for (const answered of await Promise.all(backendRoutes))
        expect(answered, answered.path).toMatchObject({
          status: 503,
          retryAfter: '1',
          body: { error: 'STORE_UNAVAILABLE', retryAfterMs: 1000, message: expect.any(String) },
        });
      // Now found down: a new request is refused at once.
      client.send({ type: 'history', channel, ref: 'hist2' });
      expect(await client.next(errorFor('hist2'), 2000)).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      redis.process.kill('SIGCONT');
    }

    // The refused publish was sent, so it may land; its retry with the same key does not add another.
    await eventually(async () => (await fetch(`${gw.http}/readyz`)).status === 200, 'ready again', 15_000);
    client.send({ type: 'publish', channel, data: { n: 'socket' }, ref: 'again', idempotencyKey: 'k1' });
    await client.next((f) => f.type === 'ack' && f.ref === 'again', 5000);
    client.send({ type: 'history', channel, ref: 'after' });
    const history = await client.next((f) => f.type === 'history' && f.ref === 'after', 5000);
    const socketEvents = (history as unknown as { events: { data: { n: string } }[] }).events.filter(
      (e) => e.data.n === 'socket',
    );
    expect(socketEvents).toHaveLength(1);
    client.drop();
  }, 90_000);

  it('an action whose job was sent before Redis froze is answered once, by its reply when Redis wakes', async () => {
    await eventually(async () => (await fetch(`${gw.http}/readyz`)).status === 200, 'ready', 15_000);
    const worker = startActionWorker({
      redisUrl: redis.url,
      prefix: gw.prefix,
      handlers: { echo: (d) => d },
    });
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'acting' }) });
    try {
      // The inbox is live after this one, so the next action's job is sent at once, on
      // BullMQ's own connection.
      client.send({ type: 'action', ref: 'warm', name: 'echo', data: 0 });
      await client.next((f) => f.type === 'reply' && f.ref === 'warm', 10_000);
      redis.process.kill('SIGSTOP');
      client.send({ type: 'action', ref: 'act', name: 'echo', data: 1 });
      // A publish is refused once the freeze is noticed: by then the action could have been too.
      client.send({ type: 'publish', channel: 'frozen:act', data: {}, ref: 'pub', idempotencyKey: 'k2' });
      await client.next(errorFor('pub'), NOTICED_WITHIN_MS);
      redis.process.kill('SIGCONT');
      expect(await client.next((f) => f.type === 'reply' && f.ref === 'act', 15_000)).toMatchObject({
        ok: true,
        data: 1,
      });
      await sleep(1000);
      // Not also a STORE_UNAVAILABLE: a client retrying on it would run the action twice.
      expect(client.frames.filter((f) => 'ref' in f && f.ref === 'act')).toHaveLength(1);
    } finally {
      redis.process.kill('SIGCONT');
      client.drop();
      await worker.close();
    }
  }, 90_000);
});
