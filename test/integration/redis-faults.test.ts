/**
 * Redis trouble (issue 2, "Tests"): no Redis at start is a clear, non-zero exit;
 * Redis killed and restarted while running is survived — publishes during the
 * outage are refused (never silently acked), the gateway recovers by itself, and
 * every event acked before the outage is still in the log and was delivered once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { AckFrame, ErrorFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany, settle } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { PROCESS_TEST_TIMEOUT_MS, processEnv, runToExit } from '../support/gateway-process.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const readyStatus = (gw: TestGateway) =>
  fetch(`${gw.http}/readyz`)
    .then((res) => res.status)
    .catch(() => 0);

function postPublish(gw: TestGateway, channel: string) {
  return fetch(`${gw.http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data: { during: 'outage' } }),
  });
}

/** Publish `count` events from the client itself; returns the acked IDs. */
async function publishFromClient(client: TestClient, channel: string, count: number, tag: string) {
  const acked: string[] = [];
  for (let n = 0; n < count; n++) {
    const ref = `${tag}-${n}`;
    client.send({ type: 'publish', channel, data: { n }, ref });
    acked.push(((await client.next((f) => f.type === 'ack' && f.ref === ref)) as AckFrame).id);
  }
  return acked;
}

describe('Redis unavailable at start', () => {
  it(
    'exits non-zero with a message naming REDIS_URL',
    async () => {
      const closedPort = await freePort();
      const exit = await runToExit(processEnv({ REDIS_URL: `redis://127.0.0.1:${closedPort}` }));
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(exit.stderr).toContain('REDIS_URL');
      expect(exit.stderr).toContain(String(closedPort));
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('Redis restarted while the gateway runs', () => {
  it('refuses publishes during the outage, recovers by itself, and loses nothing acked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-redis-aof-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let redisServer: RedisServerHandle = await startRedisServer({ appendOnly: true, dir });
    cleanups.push(() => redisServer.stop());
    const gw = await startTestGateway({ REDIS_URL: redisServer.url });
    cleanups.push(() => gw.stop());

    const channel = 'faults:room';
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'steadfast' }) });
    cleanups.push(() => client.drop());
    client.send({ type: 'subscribe', channel, ref: 'sub' });
    await client.next((f) => f.type === 'subscribed');
    const ackedBefore = [
      ...(await publishMany(gw.http, channel, 10)),
      ...(await publishFromClient(client, channel, 5, 'before')),
    ];
    await client.waitForEvents(ackedBefore.length);

    redisServer.process.kill('SIGKILL');
    await redisServer.stop(); // resolves once the process is gone
    await eventually(async () => (await readyStatus(gw)) === 503, 'readyz to report Redis down');

    const refused = await postPublish(gw, channel);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'STORE_UNAVAILABLE' });
    client.send({ type: 'publish', channel, data: { during: 'outage' }, ref: 'down' });
    const error = (await client.next((f) => f.type === 'error' && f.ref === 'down')) as ErrorFrame;
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', category: 'system', retryable: true });
    expect(client.closed).toBeUndefined();
    // A newcomer with a good token is told to retry — not that its token is bad.
    const newcomer = await TestClient.connect(gw.url);
    cleanups.push(() => newcomer.drop());
    newcomer.send({ type: 'hello', token: await mintToken({ sub: 'newcomer' }) });
    const turnedAway = (await newcomer.next((f) => f.type === 'error' || f.type === 'welcome')) as ErrorFrame;
    expect(turnedAway).toMatchObject({ type: 'error', retryable: true });
    expect(turnedAway.code).not.toMatch(/^AUTH_/);
    expect((await newcomer.waitClosed()).code).not.toBe(4001);

    redisServer = await startRedisServer({ appendOnly: true, dir, port: redisServer.port });
    await eventually(async () => (await readyStatus(gw)) === 200, 'readyz to recover', 20_000);

    const ackedAfter = [
      ...(await publishMany(gw.http, channel, 10)),
      ...(await publishFromClient(client, channel, 5, 'after')),
    ];
    await client.waitForEvents(ackedBefore.length + ackedAfter.length);
    await settle(client);
    expect(client.frames.some((f) => f.type === 'ack' && f.ref === 'down')).toBe(false);
    expect(ids(client.events())).toEqual([...ackedBefore, ...ackedAfter]);

    // New sessions and new channels work again too.
    const late = await TestClient.session(gw.url, { token: await mintToken({ sub: 'late' }) });
    cleanups.push(() => late.client.drop());
    late.client.send({ type: 'subscribe', channel: 'faults:new', ref: 'sub' });
    await late.client.next((f) => f.type === 'subscribed');
    const fresh = await publishMany(gw.http, 'faults:new', 3);
    await late.client.waitForEvents(fresh.length);
    expect(ids(late.client.events())).toEqual(fresh);

    const redis = new Redis(redisServer.url);
    cleanups.push(() => redis.quit());
    const stored = await redis.xrange(`${gw.prefix}:{c:${channel}}`, '-', '+');
    expect(stored.map(([id]) => id)).toEqual([...ackedBefore, ...ackedAfter]);
  });
});
