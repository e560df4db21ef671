/**
 * Admission behind a full pool (issue 3, "Tests"): 50 waiters of mixed tiers are
 * admitted strictly in (priority, arrival) order as slots free one at a time;
 * waiters past ADMISSION_TIMEOUT_MS are closed 1013 with a jittered retryAfterMs;
 * a waiter that leaves is dropped; the BullMQ admission queue ends empty; past
 * ADMISSION_QUEUE_MAX a newcomer is refused at once.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionQueueName, admissionQueuePrefix } from '../../src/admission/admission-queue.ts';
import type { ErrorFrame, QueuedFrame } from '../../src/shared/frames.ts';
import { eventually, settle } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { TestClient } from '../support/ws-client.ts';

const TIERS = ['free', 'standard', 'pro', 'enterprise'] as const;
/** TIER_PRIORITIES' default: 1 = admitted first. */
const PRIORITY: Record<string, number> = { enterprise: 1, pro: 2, standard: 3, free: 4 };

let gw: TestGateway | undefined;
const clients: TestClient[] = [];
const queues: Queue[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await gw?.stop();
  gw = undefined;
});

/** The BullMQ queue this gateway keeps its waiters in (src/admission/admission-queue.ts). */
function admissionQueue(g: TestGateway): Queue {
  const { nodeId, redisPrefix } = g.gateway.core.config;
  const queue = new Queue(admissionQueueName(nodeId), {
    connection: { url: g.redisUrl },
    prefix: admissionQueuePrefix(redisPrefix, nodeId),
  });
  queues.push(queue);
  return queue;
}

async function jobsLeft(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

async function admitted(url: string, sub: string) {
  const session = await TestClient.session(url, { token: await mintToken({ sub }) });
  clients.push(session.client);
  return session.client;
}

/** Connect and say hello; resolves once the gateway has put it in line (its first `queued`). */
async function waiter(url: string, sub: string, tier: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub, tier }) });
  await client.next((f): f is QueuedFrame => f.type === 'queued');
  return client;
}

/** Connect and say hello to a pool that should turn it away: its error frame and close code. */
async function turnedAway(url: string, sub: string, tier: string) {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub, tier }) });
  const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
  const { code } = await client.waitClosed();
  return { client, error, closeCode: code };
}

async function metric(g: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${g.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), name, labels);
}

const refusedAdmissions = (g: TestGateway) => metric(g, 'tether_admissions_total', { result: 'refused' });

const queuedFrames = (client: TestClient) =>
  client.frames.filter((f): f is QueuedFrame => f.type === 'queued');

describe('admission order behind a full pool', () => {
  it('50 waiters of mixed tiers get in by (priority, arrival) as slots free one at a time', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '2' });
    const g = gw;
    const queuedBefore = await metric(g, 'tether_admissions_total', { result: 'queued' });
    const waitsBefore = await metric(g, 'tether_admission_wait_seconds_count', { outcome: 'admitted' });
    const keeper = await admitted(gw.url, 'keeper');
    let holder = await admitted(gw.url, 'holder');

    // A fixed, shuffled-looking mix: every tier interleaved with the others.
    const line = Array.from({ length: 50 }, (_, i) => ({
      sub: `w${i}`,
      tier: TIERS[(i * 7 + Math.floor(i / 3)) % 4] as string,
    }));
    const expected = line
      .map((w, arrival) => ({ ...w, arrival }))
      .sort((a, b) => (PRIORITY[a.tier] ?? 9) - (PRIORITY[b.tier] ?? 9) || a.arrival - b.arrival)
      .map((w) => w.sub);
    const waiting = new Map<string, TestClient>();
    const order: string[] = [];
    let wake = () => {};
    for (const { sub, tier } of line) {
      const client = await waiter(gw.url, sub, tier);
      waiting.set(sub, client);
      client.ws.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { type: string }).type !== 'welcome') return;
        order.push(sub);
        wake();
      });
    }
    const welcomes = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no welcome #${count} within 5 s`)), 5000);
        wake = () => {
          if (order.length < count) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      });
    expect(gw.gateway.core.supervisor.poolState()).toBe('saturated');
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ active: 2, waiting: 50 });
    expect(await metric(g, 'tether_admission_queue_depth')).toBe(50);
    await eventually(
      async () => (await metric(g, 'tether_admissions_total', { result: 'queued' })) === queuedBefore + 50,
      '50 queued admissions counted',
    );
    // Each waiter is told its exact place in line — by priority, then arrival — once it settles.
    const place = (sub: string) => queuedFrames(waiting.get(sub) as TestClient).at(-1)?.position;
    await eventually(
      () => expected.every((sub, i) => place(sub) === i + 1),
      'every waiter told its exact place',
    );
    expect(expected.map(place)).toEqual(expected.map((_, i) => i + 1));

    // Free one slot at a time: close whoever holds it, wait for exactly one welcome.
    for (let admittedSoFar = 1; admittedSoFar <= line.length; admittedSoFar++) {
      holder.close();
      await welcomes(admittedSoFar);
      holder = waiting.get(order[admittedSoFar - 1] as string) as TestClient;
    }
    await settle(keeper);
    expect(order).toHaveLength(line.length);
    expect(order).toEqual(expected);

    // A `queued` frame only when the place changed: never the same position twice in a row.
    for (const client of waiting.values()) {
      const positions = queuedFrames(client).map((f) => f.position);
      expect(positions.filter((p, i) => i > 0 && p === positions[i - 1])).toEqual([]);
    }
    expect(await metric(g, 'tether_admission_queue_depth')).toBe(0);
    expect(await metric(g, 'tether_admission_wait_seconds_count', { outcome: 'admitted' })).toBe(
      waitsBefore + 50,
    );

    // Everyone admitted was welcomed as who they are, and the waiting line is gone from Redis.
    const welcome = await holder.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ userId: order.at(-1) });
    const queue = admissionQueue(gw);
    await eventually(async () => (await jobsLeft(queue)) === 0, 'an empty admission queue');
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ waiting: 0, admitted: 52 });
  });

  it('waiters past ADMISSION_TIMEOUT_MS are closed 1013 with jittered retryAfterMs; the queue ends empty', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1', ADMISSION_TIMEOUT_MS: '1500' });
    const timeoutsBefore = await metric(gw, 'tether_admission_wait_seconds_count', { outcome: 'timeout' });
    const holder = await admitted(gw.url, 'holder');
    const waiters: TestClient[] = [];
    for (let i = 0; i < 6; i++) waiters.push(await waiter(gw.url, `late${i}`, TIERS[i % 4] as string));

    const hints: number[] = [];
    for (const client of waiters) {
      const error = (await client.next((f) => f.type === 'error', 10_000)) as ErrorFrame;
      expect(error).toMatchObject({ code: 'ADMISSION_TIMEOUT', category: 'system', retryable: true });
      expect(error.retryAfterMs).toBeGreaterThan(0);
      hints.push(error.retryAfterMs as number);
      expect((await client.waitClosed()).code).toBe(1013);
      expect(client.frames.some((f) => f.type === 'welcome')).toBe(false);
    }
    // Jittered: refused clients must not all come back at the same moment.
    expect(new Set(hints).size).toBeGreaterThan(1);
    expect(await metric(gw, 'tether_admission_wait_seconds_count', { outcome: 'timeout' })).toBe(
      timeoutsBefore + 6,
    );

    const queue = admissionQueue(gw);
    await eventually(async () => (await jobsLeft(queue)) === 0, 'an empty admission queue');
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ active: 1, waiting: 0 });
    // The slot holder never noticed.
    await settle(holder);
    expect(holder.closed).toBeUndefined();
  });

  it('a waiter that disconnects while queued is dropped: never admitted, never counted', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1' });
    const leftBefore = await metric(gw, 'tether_admission_wait_seconds_count', { outcome: 'left' });
    const holder = await admitted(gw.url, 'holder');
    const leaver = await waiter(gw.url, 'leaver', 'enterprise');
    const patient = await waiter(gw.url, 'patient', 'free');
    expect((patient.frames.at(-1) as QueuedFrame).position).toBe(2);

    leaver.close();
    await leaver.waitClosed();
    // The one left moves up to the front.
    await eventually(
      () => patient.frames.some((f) => f.type === 'queued' && f.position === 1),
      'patient at position 1',
    );
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ waiting: 1 });
    expect(await metric(gw, 'tether_admission_queue_depth')).toBe(1);
    await eventually(
      async () =>
        (await metric(gw as TestGateway, 'tether_admission_wait_seconds_count', { outcome: 'left' })) ===
        leftBefore + 1,
      'the leaver counted as left',
    );
    const queue = admissionQueue(gw);
    await eventually(async () => (await jobsLeft(queue)) === 1, 'only the patient waiter in the queue');

    holder.close();
    expect(await patient.next((f) => f.type === 'welcome')).toMatchObject({ userId: 'patient' });
    expect(leaver.frames.some((f) => f.type === 'welcome')).toBe(false);
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ active: 1, waiting: 0, admitted: 2 });
    await eventually(async () => (await jobsLeft(queue)) === 0, 'an empty admission queue');
  });
});

describe('a bounded line', () => {
  it('past ADMISSION_QUEUE_MAX a newcomer, whatever its tier, gets SERVER_BUSY/1013 at once with a jittered hint; a freed place in line takes the next one', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1', ADMISSION_QUEUE_MAX: '2' });
    const refusedBefore = await refusedAdmissions(gw);
    const holder = await admitted(gw.url, 'holder');
    const first = await waiter(gw.url, 'first', 'free');
    await waiter(gw.url, 'second', 'free');

    const away = [];
    for (let i = 0; i < 4; i++) away.push(await turnedAway(gw.url, `late${i}`, 'enterprise'));
    for (const { client, error, closeCode } of away) {
      expect(error).toMatchObject({ code: 'SERVER_BUSY', retryable: true });
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(closeCode).toBe(1013);
      expect(client.frames.some((f) => f.type === 'queued' || f.type === 'welcome')).toBe(false);
    }
    expect(new Set(away.map(({ error }) => error.retryAfterMs)).size).toBeGreaterThan(1);
    expect(await refusedAdmissions(gw)).toBe(refusedBefore + 4);
    expect(gw.gateway.core.supervisor.poolContext()).toMatchObject({ active: 1, waiting: 2, refused: 4 });
    await eventually(
      async () => (await jobsLeft(admissionQueue(gw as TestGateway))) === 2,
      'two jobs in line',
    );

    // The line moves: the first waiter takes the freed slot, and its place in line is open again.
    holder.close();
    expect(await first.next((f) => f.type === 'welcome')).toMatchObject({ userId: 'first' });
    const third = await waiter(gw.url, 'third', 'standard');
    expect((third.frames.at(-1) as QueuedFrame).position).toBe(1); // a better tier than 'second'
  });

  it('ADMISSION_QUEUE_MAX=0: no line at all — at MAX_CONNECTIONS a newcomer is refused at once', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1', ADMISSION_QUEUE_MAX: '0' });
    const holder = await admitted(gw.url, 'holder');
    const { client, error, closeCode } = await turnedAway(gw.url, 'newcomer', 'enterprise');
    expect([error.code, closeCode]).toEqual(['SERVER_BUSY', 1013]);
    expect(client.frames.some((f) => f.type === 'queued')).toBe(false);

    holder.close();
    await eventually(() => gw?.gateway.core.supervisor.poolState() === 'accepting', 'room again');
    await admitted(gw.url, 'later');
  });
});
