/**
 * The two admission paths (issue 3): a full pool queues a newcomer — `queued` frame,
 * `saturated`, counted in the queue metrics — and admits it when a slot frees; with
 * room, admission is decided in the process and never sends Redis a command about the
 * admission queue (the queue path stays off the fast path). A wait estimate counts only
 * the time someone was in line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { admissionQueueName } from '../../src/admission/admission-queue.ts';
import type { QueuedFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { monitorRedis, type RedisMonitor } from '../support/redis-monitor.ts';
import { TestClient } from '../support/ws-client.ts';

let gw: TestGateway | undefined;
const clients: TestClient[] = [];
const monitors: RedisMonitor[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  for (const monitor of monitors.splice(0)) monitor.close();
  await gw?.stop();
  gw = undefined;
});

async function metric(g: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${g.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), name, labels);
}

async function session(g: TestGateway, sub: string) {
  const started = await TestClient.session(g.url, { token: await mintToken({ sub }) });
  clients.push(started.client);
  return started;
}

/** Every command Redis runs from now on whose key or arguments name this gateway's admission queue. */
async function watchAdmissionQueueCommands(g: TestGateway): Promise<string[][]> {
  const queueName = admissionQueueName(g.gateway.core.config.nodeId);
  const seen: string[][] = [];
  const monitor = await monitorRedis(g.redisUrl, (args) => {
    if (args.some((arg) => arg.includes(queueName))) seen.push(args);
  });
  monitors.push(monitor);
  return seen;
}

describe('admission when the pool is full', () => {
  it('queues the newcomer with its position, then admits it when a slot frees; the queue metrics move with it', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1' });
    const g = gw;
    const queuedBefore = await metric(g, 'tether_admissions_total', { result: 'queued' });
    const waitsBefore = await metric(g, 'tether_admission_wait_seconds_count', { outcome: 'admitted' });
    const first = await session(g, 'a');
    const second = await TestClient.connect(g.url);
    clients.push(second);
    second.send({ type: 'hello', token: await mintToken({ sub: 'b' }) });
    const queued = (await second.next((f) => f.type === 'queued')) as QueuedFrame;
    expect(queued.position).toBe(1);
    expect(g.gateway.core.supervisor.poolState()).toBe('saturated');
    expect(await metric(g, 'tether_admission_queue_depth')).toBe(1);
    await eventually(
      async () => (await metric(g, 'tether_admissions_total', { result: 'queued' })) === queuedBefore + 1,
      'one queued admission counted',
    );

    first.client.close();
    const welcome = await second.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ userId: 'b' });
    expect(await metric(g, 'tether_admission_queue_depth')).toBe(0);
    expect(await metric(g, 'tether_admission_wait_seconds_count', { outcome: 'admitted' })).toBe(
      waitsBefore + 1,
    );
  });
});

describe('admission with room', () => {
  it('admits 30 connections without one Redis command about the admission queue; a full pool does use it', async () => {
    const ROOM = 30;
    gw = await startTestGateway({ MAX_CONNECTIONS: String(ROOM) });
    const g = gw;
    const commands = await watchAdmissionQueueCommands(g);
    const admittedBefore = await metric(g, 'tether_admissions_total', { result: 'admitted' });
    for (let i = 0; i < ROOM; i++) await session(g, `fast${i}`);
    await eventually(
      async () =>
        (await metric(g, 'tether_admissions_total', { result: 'admitted' })) === admittedBefore + ROOM,
      `${ROOM} admissions counted`,
    );
    expect(commands).toEqual([]);

    // The watch does see the queue when it is used: the next one waits in it.
    const waiter = await TestClient.connect(g.url);
    clients.push(waiter);
    waiter.send({ type: 'hello', token: await mintToken({ sub: 'slow-path' }) });
    await waiter.next((f) => f.type === 'queued');
    await eventually(() => commands.length > 0, 'admission-queue commands on the slow path');
  });
});

describe('the wait estimate in `queued`', () => {
  /** The pool full and nobody in line: no one's wait, so no part of anyone's estimate. */
  const IDLE_MS = 6000;

  async function waiter(g: TestGateway, sub: string): Promise<TestClient> {
    const client = await TestClient.connect(g.url);
    clients.push(client);
    client.send({ type: 'hello', token: await mintToken({ sub }) });
    await client.next((f) => f.type === 'queued');
    return client;
  }

  it('leaves out the time nobody waited: an idle pool before a line formed does not inflate it', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1' });
    const g = gw;
    const holder = await session(g, 'holder');
    const first = await waiter(g, 'first');
    holder.client.close();
    await first.next((f) => f.type === 'welcome');

    await sleep(IDLE_MS); // full, with nobody in line
    const second = await waiter(g, 'second');
    const third = await waiter(g, 'third');
    first.close();
    await second.next((f) => f.type === 'welcome');
    const told = (await third.next((f) => f.type === 'queued' && f.position === 1)) as QueuedFrame;
    // Each admission took well under a second of waiting; counting the idle gap as one made
    // it at least 0.8 × 1000 + 0.2 × IDLE_MS = 2000 (the average's start and weight).
    expect(told.estimatedWaitMs).toBeLessThan(1500);
  });
});
