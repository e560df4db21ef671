/**
 * Tether on a real 3-master Redis Cluster (issue 14): `REDIS_URL=redis+cluster://…`.
 * Two gateways share the cluster; channels and sessions land on every master. A
 * guard reads both gateways' logs: any CROSSSLOT or slot-group error (a multi-key
 * command or pipeline across slots) fails the file. Action jobs and admission queues
 * spread over the masters too (ACTION_QUEUE_SHARDS, per-process admission tags).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionShardPrefixes } from '../../src/actions/action-job.ts';
import { type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import { admissionQueuePrefix } from '../../src/admission/admission-queue.ts';
import { ControlBus } from '../../src/redis/control-bus.ts';
import { createRedisClient, defaultActionShards, parseRedisUrl } from '../../src/redis/redis-target.ts';
import type { ReplyFrame } from '../../src/shared/frames.ts';
import { eventually, lastId, publishMany, settle } from '../support/events.ts';
import { mintToken, SLOT_ERRORS, TEST_API_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { channelOn, startRedisCluster, type TestCluster } from '../support/redis-cluster.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const ADMIN = { authorization: 'Bearer test-admin-key-0123456789' };

let cluster: TestCluster;
let a: LoggedGateway;
let b: LoggedGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  // Leases and connection slots refreshed every second: the refresh paths run during the tests.
  const env = {
    REDIS_URL: cluster.url,
    LOG_LEVEL: 'info',
    SESSION_LEASE_MS: '1000',
    MAX_CONNECTIONS_PER_USER: '5',
  };
  a = await startLoggedGateway(env);
  b = await startLoggedGateway({ ...env, REDIS_PREFIX: a.prefix });
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.drop();
  const logs = `${a?.output() ?? ''}${b?.output() ?? ''}`;
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.stop();
  // The guard: no command anywhere was refused for spanning slots.
  expect(logs).not.toMatch(SLOT_ERRORS);
});

/** How many masters hold at least one of `keys` (a master counts only its own slots' keys). */
async function mastersHolding(keys: string[]): Promise<number> {
  const first = cluster.masters[0] as TestCluster['masters'][number];
  const slots = await Promise.all(keys.map(async (k) => Number(await first.redis.cluster('KEYSLOT', k))));
  const holding = await Promise.all(
    cluster.masters.map(async (m) =>
      (
        await Promise.all(slots.map(async (slot) => Number(await m.redis.cluster('COUNTKEYSINSLOT', slot))))
      ).some((n) => n > 0),
    ),
  );
  return holding.filter(Boolean).length;
}

/** How many masters hold keys of the action queue's shards (each master SCANned for its own keys). */
async function mastersWithActionJobs(): Promise<number> {
  const shardPrefixes = new Set(
    actionShardPrefixes(a.prefix, defaultActionShards(parseRedisUrl(cluster.url))),
  );
  const holding = await Promise.all(
    cluster.masters.map(async (m) => {
      const keys = await m.redis.keys(`{${a.prefix}-bull*`);
      return keys.some((key) => shardPrefixes.has(key.slice(0, key.indexOf('}') + 1)));
    }),
  );
  return holding.filter(Boolean).length;
}

/** Gateway A's entry in the live-node set: its score moves at every lease round. */
async function nodeEntry(): Promise<string | null> {
  for (const m of cluster.masters) {
    const key = `${a.prefix}:nodes`;
    const slot = Number(await m.redis.cluster('KEYSLOT', key));
    if (Number(await m.redis.cluster('COUNTKEYSINSLOT', slot)) > 0)
      return m.redis.zscore(key, a.gateway.core.config.nodeId);
  }
  return null;
}

async function publishTo(http: string, channel: string, count: number): Promise<string[]> {
  return publishMany(http, channel, count, 4);
}

describe('on a 3-master Redis Cluster', () => {
  it('resume across two gateways with channels on every master: nothing lost, nothing twice, and no publish crosses the cluster bus', async () => {
    // Four channels owned by each master, so every master serves the resume.
    const channels: string[] = [];
    for (const master of cluster.masters)
      for (let i = 0; i < 4; i++) channels.push(await channelOn(master, a.prefix, 'cl'));
    const token = await mintToken({ sub: 'cluster-resumer' });
    const first = await TestClient.session(a.url, { token });
    clients.push(first.client);
    for (const [i, channel] of channels.entries()) {
      first.client.send({ type: 'subscribe', channel, ref: `s${i}` });
      await first.client.next((f) => f.type === 'subscribed' && f.ref === `s${i}`);
    }
    const busBefore = await cluster.busPublishes();
    const before: Record<string, string[]> = {};
    for (const channel of channels) before[channel] = await publishTo(b.http, channel, 5);
    await first.client.waitForEvents(5 * channels.length);
    for (const channel of channels) expect(ids(first.client.events(channel))).toEqual(before[channel]);
    expect(await mastersHolding(channels.map((c) => `${a.prefix}:{c:${c}}`))).toBe(3);

    first.client.drop();
    const during: Record<string, string[]> = {};
    for (const channel of channels) during[channel] = await publishTo(a.http, channel, 20);

    const lastEventIds = Object.fromEntries(channels.map((c) => [c, lastId(before[c] as string[])]));
    const second = await TestClient.session(b.url, {
      token,
      resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken, lastEventIds },
    });
    clients.push(second.client);
    expect(second.welcome).toMatchObject({ resumed: true, recovered: true });
    await second.client.waitForEvents(20 * channels.length);
    await settle(second.client);
    for (const channel of channels) expect(ids(second.client.events(channel))).toEqual(during[channel]);
    // 300 events announced with SPUBLISH on their own shard: none copied over the bus
    // (the one "session moved" notice of the resume is a classic PUBLISH).
    expect((await cluster.busPublishes()) - busBefore).toBeLessThan(10);
  });

  it('cleanup and the node list see every master: all sessions scanned, both gateways alive', async () => {
    // Sessions until they are on every master (random IDs: a few suffice).
    const sessions: Awaited<ReturnType<typeof TestClient.session>>[] = [];
    const sessionKeys = () => sessions.map((s) => `${a.prefix}:{s:${s.welcome.sessionId}}`);
    while (sessions.length < 40 && (sessions.length < 6 || (await mastersHolding(sessionKeys())) < 3)) {
      const session = await TestClient.session(a.url, {
        token: await mintToken({ sub: `u${sessions.length}` }),
      });
      clients.push(session.client);
      sessions.push(session);
    }
    expect(await mastersHolding(sessionKeys())).toBe(3);
    // Two lease rounds with these sessions (each refreshes every session, user index and
    // slot, then beats): the guard in afterAll reads what those refreshes logged.
    const beats = new Set<string>();
    await eventually(async () => {
      beats.add(String(await nodeEntry()));
      return beats.size >= 3;
    }, 'two lease rounds');
    const res = await fetch(`${a.http}/ws/cleanup?dryRun=true`, { method: 'POST', headers: ADMIN });
    const report = (await res.json()) as {
      scanned: number;
      stale: unknown[];
      admissionQueues: { stale: string[] };
    };
    expect(report.scanned).toBeGreaterThanOrEqual(sessions.length);
    expect(report.stale).toEqual([]);
    expect(report.admissionQueues.stale).toEqual([]);

    const health = (await (await fetch(`${a.http}/health/websocket`, { headers: ADMIN })).json()) as {
      redis: { masters: { node: string; version: string }[] };
    };
    expect(health.redis.masters.map((m) => m.node).sort()).toEqual(
      cluster.masters.map((m) => `127.0.0.1:${m.port}`).sort(),
    );
    expect(health.redis.masters.every((m) => /^7\./.test(m.version))).toBe(true);
  });

  it('action jobs spread over the shards on several masters; every action is answered through them', async () => {
    let worker: ActionWorker | undefined;
    try {
      worker = startActionWorker({
        redisUrl: cluster.url,
        prefix: a.prefix,
        handlers: { echo: (data) => data },
      });
      // Sessions (random IDs, each to its shard) until the jobs are on more than one master.
      const sessions: TestClient[] = [];
      while (sessions.length < 24 && (sessions.length < 4 || (await mastersWithActionJobs()) < 2)) {
        const { client } = await TestClient.session(sessions.length % 2 ? a.url : b.url, {
          token: await mintToken({ sub: `actor${sessions.length}` }),
        });
        clients.push(client);
        sessions.push(client);
        for (const n of [1, 2]) client.send({ type: 'action', ref: `r${n}`, name: 'echo', data: n });
        for (const n of [1, 2])
          expect(
            await client.next((f): f is ReplyFrame => f.type === 'reply' && f.ref === `r${n}`),
          ).toMatchObject({ ok: true, data: n });
      }
      expect(await mastersWithActionJobs()).toBeGreaterThanOrEqual(2);
      // Each process's admission queue has a tag of its own: processes' queues need not share a slot.
      const first = cluster.masters[0] as TestCluster['masters'][number];
      const slots = await Promise.all(
        ['gw-1', 'gw-2', 'gw-3', 'gw-4'].map(async (nodeId) =>
          Number(await first.redis.cluster('KEYSLOT', admissionQueuePrefix(a.prefix, nodeId))),
        ),
      );
      expect(new Set(slots).size).toBeGreaterThan(1);
    } finally {
      await worker?.close();
    }
  });

  it('a publish over HTTP is acked on the cluster (BullMQ and the append script on any slot)', async () => {
    const res = await fetch(`${b.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: `solo:${randomUUID()}`, data: { ok: true } }),
    });
    expect(res.status).toBe(200);
  });
});

describe('a question to another process, listening on another node', () => {
  it('is answered, not taken as gone: PUBLISH counts the listeners of the node that took it alone', async () => {
    const [here, there] = cluster.masters as [TestCluster['masters'][number], TestCluster['masters'][number]];
    const prefix = `ask${randomUUID().slice(0, 6)}`;
    const ranges = (await there.redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const onThere = async (id: string) => {
      const slot = Number(await there.redis.cluster('KEYSLOT', `${prefix}:ctl:${id}`));
      return ranges.some(([from, to, [, port]]) => port === there.port && slot >= from && slot <= to);
    };
    let target = '';
    for (let i = 0; !target; i++) if (await onThere(`gw-${i}`)) target = `gw-${i}`;

    // Each process listens through one node (`here`); questions go out by slot (to `there`).
    const publisher = createRedisClient(parseRedisUrl(cluster.url), {});
    const listeners = [new Redis(here.port, '127.0.0.1'), new Redis(here.port, '127.0.0.1')];
    const quiet = pino({ level: 'silent' });
    const asker = new ControlBus(publisher, listeners[0] as Redis, prefix, 'asker', quiet);
    const holder = new ControlBus(publisher, listeners[1] as Redis, prefix, target, quiet);
    try {
      holder.on((notice) => {
        if (notice.type === 'sse.frames') holder.answer(notice, true);
      });
      await Promise.all([asker.start(), holder.start()]);
      const answers = [];
      for (let n = 0; n < 5; n++)
        answers.push(await asker.ask(target, { type: 'sse.frames', token: 't', body: '' }));
      expect(answers).toEqual([true, true, true, true, true]);
      expect(await asker.ask('gw-nobody', { type: 'sse.frames', token: 't', body: '' })).toBe('no answer');
      expect(await asker.broadcast({ kind: 'revoke', userId: 'nobody', before: 0 })).toBeNull();
    } finally {
      publisher.disconnect();
      for (const listener of listeners) listener.disconnect();
    }
  });
});
