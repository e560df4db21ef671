/**
 * Redis out of memory under `maxmemory` with `noeviction` (or nothing left it may evict):
 * it refuses every write with OOM, before running any of it, and goes on answering reads
 * and PINGs. A refusal is what the client is told — the retryable STORE_UNAVAILABLE, saying
 * nothing was written — never INTERNAL, nor a "may be in the log" that has the client
 * guess. Connections already open carry on, and lose nothing once memory is back.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigCheck } from '../../src/admin/health-report.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { SubscribedFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany, settle } from '../support/events.ts';
import {
  mintToken,
  startTestGateway,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let server: RedisServerHandle;
let redis: Redis;
let gw: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  gw = await startTestGateway({ REDIS_URL: server.url });
});

afterAll(async () => {
  await gw?.stop();
  redis?.disconnect();
  await server?.stop();
});

const publish = (channel: string, data: unknown, idempotencyKey?: string) =>
  fetch(`${gw.http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data, ...(idempotencyKey ? { idempotencyKey } : {}) }),
  });

async function outOfMemory<T>(during: () => Promise<T>): Promise<T> {
  await redis.config('SET', 'maxmemory-policy', 'noeviction');
  await redis.config('SET', 'maxmemory', '1'); // every write is over it
  try {
    return await during();
  } finally {
    await redis.config('SET', 'maxmemory', '0');
  }
}

describe('Redis out of memory (maxmemory, noeviction)', () => {
  it('refuses publishes and new sessions with STORE_UNAVAILABLE, nothing written; open connections lose nothing', async () => {
    const channel = `oom:${randomUUID().slice(0, 8)}`;
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'reader' }) });
    client.send({ type: 'subscribe', channel, ref: 's1' });
    await client.next((f): f is SubscribedFrame => f.type === 'subscribed');
    const before = await publishMany(gw.http, channel, 3);
    await client.waitForEvents(3);

    const refused = await outOfMemory(async () => {
      const http = await publish(channel, { refused: 1 });
      const keyed = await publish(channel, { refused: 2 }, 'k-1');
      client.send({ type: 'publish', ref: 'p1', channel, data: { refused: 3 }, idempotencyKey: 'k-2' });
      const socket = await client.next((f) => f.type === 'error' && f.ref === 'p1');
      const newcomer = await TestClient.connect(gw.url);
      newcomer.send({ type: 'hello', token: await mintToken({ sub: 'newcomer' }) });
      const hello = await newcomer.next((f) => f.type === 'error');
      const closed = await newcomer.waitClosed();
      const read = await fetch(`${gw.http}/channels/oom-new:${randomUUID().slice(0, 8)}/history`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      return {
        http: { status: http.status, body: await http.json() },
        keyed: await keyed.json(),
        socket,
        hello,
        closed,
        read: { status: read.status, body: await read.json() },
      };
    });

    const notWritten = /Redis refused the append \(OOM .*\): the event was not written/;
    expect(refused.http).toMatchObject({
      status: 503,
      body: { error: 'STORE_UNAVAILABLE', message: expect.stringMatching(notWritten) },
    });
    expect(refused.keyed).toMatchObject({
      error: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(notWritten),
    });
    expect(refused.socket).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
      detail: expect.stringMatching(notWritten),
    });
    // No session can be made: the retryable refusal a hello gets when Redis cannot serve.
    expect(refused.hello).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    expect(refused.closed.code).toBe(1011);
    // A refusal, said as one: Redis did answer.
    expect(refused.read).toMatchObject({
      status: 503,
      body: { error: 'STORE_UNAVAILABLE', message: expect.stringMatching(/out of memory/) },
    });

    // Memory back: the connection carried on, and got every event acked, once, in order.
    const after = await publishMany(gw.http, channel, 2);
    await client.waitForEvents(5);
    await settle(client);
    expect(client.closed).toBeUndefined();
    expect(ids(client.events(channel))).toEqual([...before, ...after]);
    expect(client.frames.filter((f) => f.type === 'error').map((f) => f.ref)).toEqual(['p1']);
  });
});

/** /health/websocket's `redis_eviction_policy` check, and the start-up warning. */
const policyCheck = async (http: string) => {
  const health = (await (
    await fetch(`${http}/health/websocket`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
  ).json()) as { config: ConfigCheck[] };
  return health.config.find((check) => check.name === 'redis_eviction_policy');
};
const warned = (gw: LoggedGateway) =>
  gw.lines().find((line) => line.msg.startsWith('Redis maxmemory-policy'));

describe('a Redis that may evict', () => {
  it('is named in a warning at start and in /health/websocket; noeviction is not', async () => {
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const lru = await startLoggedGateway({ REDIS_URL: server.url });
    try {
      const warning = await eventually(() => warned(lru), 'the warning');
      expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('noeviction') });
      expect(await policyCheck(lru.http)).toMatchObject({
        ok: false,
        detail: expect.stringContaining('allkeys-lru on 127.0.0.1:'),
      });
    } finally {
      await lru.stop();
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
    }
    const safe = await startLoggedGateway({ REDIS_URL: server.url });
    try {
      expect(await policyCheck(safe.http)).toMatchObject({ ok: true });
    } finally {
      await safe.stop();
    }
    expect(warned(safe)).toBeUndefined();
  });

  it('with CONFIG disabled (as managed services do), is still named: the policy is read from INFO, which they serve', async () => {
    const locked = await startRedisServer({
      extraArgs: ['--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '""'],
    });
    const gateway = await startLoggedGateway({ REDIS_URL: locked.url });
    try {
      const warning = await eventually(() => warned(gateway), 'the warning');
      expect(warning).toMatchObject({ evictionPolicies: [{ policy: 'volatile-lru' }] });
      expect(await policyCheck(gateway.http)).toMatchObject({
        ok: false,
        detail: expect.stringContaining('volatile-lru on 127.0.0.1:'),
      });
    } finally {
      await gateway.stop();
      await locked.stop();
    }
  });
});
