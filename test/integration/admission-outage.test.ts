/**
 * Waiters in the admission line while Redis goes away (stopped, or frozen with SIGSTOP):
 * each is told STORE_UNAVAILABLE — retryable, a `system` error with its retry hint, close
 * 1011, as a hello arriving then is — once the gateway finds Redis not answering, instead of
 * waiting in silence through the outage. The welcomed connections notice nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { ErrorFrame, QueuedFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Found within a health PING interval (5 s) plus its timeout (2 s); the margin is for a busy box. */
const NOTICED_WITHIN_MS = 20_000;

/** A full gateway (one slot, held) on a Redis of its own, and two clients waiting in line. */
async function fullGatewayWithWaiters() {
  let redis: RedisServerHandle = await startRedisServer();
  cleanups.push(() => {
    redis.process.kill('SIGCONT');
    return redis.stop();
  });
  // The admission timeout far off: the outage, not the timeout, must be what ends the wait.
  const gw: TestGateway = await startTestGateway({
    REDIS_URL: redis.url,
    MAX_CONNECTIONS: '1',
    ADMISSION_TIMEOUT_MS: '600000',
  });
  cleanups.push(() => gw.stop());
  const holder = await TestClient.session(gw.url, { token: await mintToken({ sub: 'holder' }) });
  cleanups.push(() => holder.client.drop());
  const waiters: TestClient[] = [];
  for (const sub of ['first', 'second']) {
    const waiter = await TestClient.connect(gw.url);
    cleanups.push(() => waiter.drop());
    waiter.send({ type: 'hello', token: await mintToken({ sub }) });
    await waiter.next((f): f is QueuedFrame => f.type === 'queued');
    waiters.push(waiter);
  }
  return {
    gw,
    holder: holder.client,
    waiters,
    get redis() {
      return redis;
    },
    async stop() {
      redis.process.kill('SIGKILL');
      await redis.stop();
    },
    async start() {
      redis = await startRedisServer({ port: redis.port }); // empty: no persistence
    },
  };
}

async function toldStoreUnavailable(waiter: TestClient): Promise<void> {
  const error = (await waiter.next((f) => f.type === 'error', NOTICED_WITHIN_MS)) as ErrorFrame;
  expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', category: 'system', retryable: true });
  expect(error.retryAfterMs).toBeGreaterThan(0);
  expect((await waiter.waitClosed(5000)).code).toBe(1011);
  expect(waiter.frames.filter((f) => f.type === 'welcome')).toEqual([]);
}

const ready = (gw: TestGateway) =>
  fetch(`${gw.http}/readyz`)
    .then((res) => res.status === 200)
    .catch(() => false);

describe('waiters in the admission line when Redis goes away', () => {
  it('frozen (SIGSTOP): each waiter is told STORE_UNAVAILABLE; the welcomed client notices nothing', async () => {
    const { gw, holder, waiters, redis } = await fullGatewayWithWaiters();
    redis.process.kill('SIGSTOP');
    try {
      for (const waiter of waiters) await toldStoreUnavailable(waiter);
    } finally {
      redis.process.kill('SIGCONT');
    }
    await eventually(() => ready(gw), 'ready again', 15_000);
    expect(holder.closed).toBeUndefined();
    expect(holder.frames.filter((f) => f.type === 'error')).toEqual([]);
    // The line is empty again: the next newcomer waits first in it, and gets in when the slot frees.
    expect(gw.gateway.core.supervisor.poolContext().waiting).toBe(0);
    const next = await TestClient.connect(gw.url);
    cleanups.push(() => next.drop());
    next.send({ type: 'hello', token: await mintToken({ sub: 'after' }) });
    expect(await next.next((f): f is QueuedFrame => f.type === 'queued', 5000)).toMatchObject({
      position: 1,
    });
    holder.close();
    await next.next((f) => f.type === 'welcome', 10_000);
  }, 90_000);

  it('stopped, then started again empty: each waiter is told STORE_UNAVAILABLE; the welcomed client notices nothing', async () => {
    const outage = await fullGatewayWithWaiters();
    const { gw, holder, waiters } = outage;
    await outage.stop();
    for (const waiter of waiters) await toldStoreUnavailable(waiter);
    await outage.start();
    await eventually(() => ready(gw), 'ready again', 20_000);
    await sleep(500);
    expect(holder.closed).toBeUndefined();
    expect(holder.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(gw.gateway.core.supervisor.poolContext().waiting).toBe(0);
  }, 90_000);
  it('down, back between two checks while a newcomer joins the line, then down again: the newcomer is told too', async () => {
    const outage = await fullGatewayWithWaiters();
    const { gw, waiters } = outage;
    const [first] = waiters;
    await outage.stop();
    // The check that finds Redis gone dismisses the line: the next check is a PING interval (5 s) away.
    await toldStoreUnavailable(first as TestClient);
    const foundAt = Date.now();
    await outage.start();
    await eventually(() => ready(gw), 'ready again', 4000);
    const newcomer = await TestClient.connect(gw.url);
    cleanups.push(() => newcomer.drop());
    newcomer.send({ type: 'hello', token: await mintToken({ sub: 'newcomer' }) });
    await newcomer.next((f): f is QueuedFrame => f.type === 'queued', 2000);
    await outage.stop();
    // Down again before the next check could find Redis answering: this outage is a new one.
    expect(Date.now() - foundAt).toBeLessThan(4500);
    await toldStoreUnavailable(newcomer);
  }, 90_000);
});
