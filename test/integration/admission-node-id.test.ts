/**
 * A process's admission line is its own. A second process started under a live one's
 * NODE_ID is refused (it would clear the first's queue and take its waiters), two IDs
 * never share a queue, and a waiter whose job Redis lost is still admitted when a slot
 * frees, not left to time out beside it.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionQueueName, admissionQueuePrefix } from '../../src/admission/admission-queue.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import type { QueuedFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  for (const g of gateways.splice(0)) await g.stop();
});

async function gateway(overrides: Record<string, string>): Promise<TestGateway> {
  const g = await startTestGateway(overrides);
  gateways.push(g);
  return g;
}

async function session(g: TestGateway, sub: string) {
  const started = await TestClient.session(g.url, { token: await mintToken({ sub }) });
  clients.push(started.client);
  return started;
}

/** A client whose hello the full pool queued. */
async function queuedClient(g: TestGateway, sub: string): Promise<TestClient> {
  const client = await TestClient.connect(g.url);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub }) });
  const queued = (await client.next((f) => f.type === 'queued')) as QueuedFrame;
  expect(queued.position).toBe(1);
  return client;
}

describe('one admission line per process', () => {
  it('refuses a second process under a live one’s NODE_ID, and the first one’s waiter still gets in', async () => {
    const shared = { NODE_ID: `gw.${randomBytes(3).toString('hex')}`, MAX_CONNECTIONS: '1' };
    const first = await gateway(shared);
    const holder = await session(first, 'holder');
    const waiter = await queuedClient(first, 'waiter');

    const second = startTestGateway({ ...shared, REDIS_PREFIX: first.prefix });
    const refusal = await second.then(
      (g) => {
        gateways.push(g);
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as ConfigError).message).toMatch(/NODE_ID="gw\.\w+": a live gateway process/);

    holder.client.close();
    expect(await waiter.next((f) => f.type === 'welcome')).toMatchObject({ userId: 'waiter' });
  });

  it('of two started at the same moment under one NODE_ID, one runs and the other is refused', async () => {
    const shared = {
      NODE_ID: `gw-${randomBytes(3).toString('hex')}`,
      REDIS_PREFIX: `t${randomBytes(4).toString('hex')}`,
    };
    const starts = await Promise.allSettled([startTestGateway(shared), startTestGateway(shared)]);
    for (const start of starts) if (start.status === 'fulfilled') gateways.push(start.value);
    expect(starts.filter((start) => start.status === 'fulfilled')).toHaveLength(1);
    const [refused] = starts.filter((start): start is PromiseRejectedResult => start.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(ConfigError);
  });

  it('starts under the ID of a process that stopped', async () => {
    const shared = { NODE_ID: `gw-${randomBytes(3).toString('hex')}` };
    const first = await startTestGateway(shared);
    await first.stop();
    const again = await gateway({ ...shared, REDIS_PREFIX: first.prefix });
    await session(again, 'a');
  });

  it('starts beside a listener under its ID that does not answer (a connection whose host vanished)', async () => {
    const nodeId = `gw-${randomBytes(3).toString('hex')}`;
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const stale = connectTestRedis();
    try {
      await stale.subscribe(`${prefix}:ctl:${nodeId}`);
      const g = await gateway({ NODE_ID: nodeId, REDIS_PREFIX: prefix });
      await session(g, 'a');
    } finally {
      stale.disconnect();
    }
  });

  it('names a queue per ID: IDs that differ in any character never share one', () => {
    const ids = ['gw.1', 'gw_1', 'gw:1', 'gw-1', 'gw}1', 'gw{1', 'gw_2e1', 'gw_5f1'];
    const names = new Set(ids.map(admissionQueueName));
    expect(names.size).toBe(ids.length);
    for (const name of names) expect(name).toMatch(/^admission-[A-Za-z0-9_-]+$/);
  });
});

describe('a waiter whose job Redis lost', () => {
  it('is admitted when a slot frees, not held until ADMISSION_TIMEOUT_MS', async () => {
    const g = await gateway({ MAX_CONNECTIONS: '1', ADMISSION_TIMEOUT_MS: '20000' });
    const holder = await session(g, 'holder');
    const waiter = await queuedClient(g, 'waiter');
    // What a restart without persistence, or a failover to a lagging replica, leaves: no job.
    const { nodeId } = g.gateway.core.config;
    const redis = connectTestRedis(g.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(admissionQueueName(nodeId), {
      connection: redis,
      prefix: admissionQueuePrefix(g.prefix, nodeId),
    });
    try {
      await queue.obliterate({ force: true });
      expect(await queue.count()).toBe(0);
    } finally {
      await queue.close();
      redis.disconnect();
    }

    holder.client.close();
    expect(await waiter.next((f) => f.type === 'welcome', 5000)).toMatchObject({ userId: 'waiter' });
    const newcomer = await TestClient.connect(g.url);
    clients.push(newcomer);
    newcomer.send({ type: 'hello', token: await mintToken({ sub: 'newcomer' }) });
    // The line holds nobody who is not there: the newcomer is first in it.
    expect(((await newcomer.next((f) => f.type === 'queued')) as QueuedFrame).position).toBe(1);
  });
});
