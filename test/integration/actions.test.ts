/**
 * Client actions through BullMQ to a backend worker and back (issue 3, "Tests"):
 * replies carry the ref and the originating correlation ID; unknown and failing
 * actions come back coded; the worker takes jobs by (action class, tier); a reply
 * reaches a client that resumed on another gateway; over the high-water mark only
 * low-priority actions are refused.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionDeadlines } from '../../src/actions/action-deadlines.ts';
import {
  ACTIONS_QUEUE,
  type ActionJob,
  actionShardOf,
  actionShardPrefixes,
} from '../../src/actions/action-job.ts';
import {
  type ActionContext,
  type ActionHandler,
  type ActionWorker,
  startActionWorker,
} from '../../src/actions/action-worker.ts';
import { defaultActionShards, parseRedisUrl } from '../../src/redis/redis-target.ts';
import type { ErrorFrame, ReplyFrame, ServerFrame } from '../../src/shared/frames.ts';
import { eventually, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];
const workers: ActionWorker[] = [];
const queues: Queue[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

/** The shards the gateway spreads actions over (ACTION_QUEUE_SHARDS, or its topology's default). */
const shardsOf = (gw: TestGateway) =>
  gw.gateway.core.config.actions.queueShards ?? defaultActionShards(parseRedisUrl(gw.redisUrl));

/** A worker taking `perShard` jobs at once from each shard (a session's actions share one). */
function worker(gw: TestGateway, handlers: Record<string, ActionHandler>, perShard = 4): ActionWorker {
  const concurrency = perShard * shardsOf(gw);
  const started = startActionWorker({ redisUrl: gw.redisUrl, prefix: gw.prefix, handlers, concurrency });
  workers.push(started);
  return started;
}

/** The action queue's shards as a backend operator sees them. */
function actionQueues(gw: TestGateway): Queue[] {
  const shardQueues = actionShardPrefixes(gw.prefix, shardsOf(gw)).map(
    (prefix) =>
      new Queue(ACTIONS_QUEUE, {
        connection: connectTestRedis(gw.redisUrl, { maxRetriesPerRequest: null }),
        prefix,
      }),
  );
  queues.push(...shardQueues);
  return shardQueues;
}

/** Jobs not yet taken by a worker. */
function waitingActions(gw: TestGateway): () => Promise<number> {
  const shardQueues = actionQueues(gw);
  return async () => {
    let waiting = 0;
    for (const queue of shardQueues) {
      const counts = await queue.getJobCounts('waiting', 'prioritized');
      waiting += (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    }
    return waiting;
  };
}

async function session(url: string, sub: string, tier = 'standard', hello: Record<string, unknown> = {}) {
  const started = await TestClient.session(url, { token: await mintToken({ sub, tier }), ...hello });
  clients.push(started.client);
  return started;
}

const isReply =
  (ref: string) =>
  (f: ServerFrame): f is ReplyFrame =>
    f.type === 'reply' && f.ref === ref;
const replies = (client: TestClient) => client.frames.filter((f): f is ReplyFrame => f.type === 'reply');

describe('action → worker → reply', () => {
  it('replies with the same ref and data; the handler and the reply carry the connection’s correlation ID', async () => {
    const gw = await gateway();
    const seen: ActionContext[] = [];
    worker(gw, {
      'orders.create': (data, ctx) => {
        seen.push(ctx);
        return { orderId: 42, echo: data };
      },
    });
    const { client, welcome } = await session(gw.url, 'buyer', 'pro');
    client.send({ type: 'action', ref: 'a1', name: 'orders.create', data: { sku: 'x' } });
    const reply = await client.next(isReply('a1'));
    expect(reply).toMatchObject({
      ok: true,
      data: { orderId: 42, echo: { sku: 'x' } },
      channel: `inbox:${welcome.sessionId}`,
      correlationId: welcome.correlationId,
    });
    expect(seen).toEqual([
      {
        name: 'orders.create',
        userId: 'buyer',
        tier: 'pro',
        sessionId: welcome.sessionId,
        correlationId: welcome.correlationId,
      },
    ]);
  });

  it('an action no worker handles → UNKNOWN_ACTION; a handler that throws → ACTION_FAILED; the connection goes on', async () => {
    const gw = await gateway();
    worker(gw, {
      explode: () => {
        throw new Error('the warehouse is on fire');
      },
      echo: (data) => data,
    });
    const { client } = await session(gw.url, 'tester');
    client.send({ type: 'action', ref: 'u1', name: 'no.such.action', data: {} });
    client.send({ type: 'action', ref: 'f1', name: 'explode', data: {} });
    client.send({ type: 'action', ref: 'e1', name: 'echo', data: [1, 2] });
    expect(await client.next(isReply('u1'))).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_ACTION', retryable: false, detail: 'no.such.action' },
    });
    expect(await client.next(isReply('f1'))).toMatchObject({
      ok: false,
      error: { code: 'ACTION_FAILED', retryable: false, detail: 'the warehouse is on fire' },
    });
    expect(await client.next(isReply('e1'))).toMatchObject({ ok: true, data: [1, 2] });
    expect(client.closed).toBeUndefined();
  });

  it('a burst of actions sent before the inbox is live: every reply arrives, once', async () => {
    const gw = await gateway();
    worker(gw, { echo: (data) => data }, 16);
    const { client } = await session(gw.url, 'burst');
    const refs = Array.from({ length: 30 }, (_, i) => `b${i}`);
    for (const [i, ref] of refs.entries()) client.send({ type: 'action', ref, name: 'echo', data: i });
    for (const ref of refs) await client.next(isReply(ref), 15_000);
    expect(
      replies(client)
        .map((r) => r.ref)
        .sort(),
    ).toEqual([...refs].sort());
  });
});

describe('a job run twice', () => {
  it('replies once: a re-run (a worker died before BullMQ marked the job done; a retry) appends nothing', async () => {
    const gw = await gateway();
    let runs = 0;
    worker(gw, {
      'orders.create': () => {
        runs++;
        return { run: runs };
      },
    });
    const { client, welcome } = await session(gw.url, 'twice');
    client.send({ type: 'action', ref: 'r1', name: 'orders.create', data: {} });
    expect(await client.next(isReply('r1'))).toMatchObject({ ok: true, data: { run: 1 } });

    // The same job again, as BullMQ runs a stalled one: same queue, same job ID.
    const done = (await Promise.all(actionQueues(gw).map((q) => q.getJobs(['completed'])))).flat();
    expect(done).toHaveLength(1);
    await done[0]?.retry('completed');
    await eventually(async () => runs === 2 && (await done[0]?.isCompleted()), 'the second run to complete');
    await settle(client);
    expect(replies(client).filter((r) => r.ref === 'r1')).toHaveLength(1);
    const redis = connectTestRedis(gw.redisUrl);
    try {
      expect(await redis.xlen(`${gw.prefix}:{c:inbox:${welcome.sessionId}}`)).toBe(1);
    } finally {
      await redis.quit();
    }
  });
});

describe('a job BullMQ fails without running it', () => {
  it('one that stalled past maxStalledCount (its worker kept dying on it) is answered ACTION_FAILED, once', async () => {
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '0' });
    const { client } = await session(gw.url, 'poison');
    client.send({ type: 'action', ref: 'p1', name: 'orders.create', data: {} });
    const shardQueues = actionQueues(gw);
    let queued: { queue: Queue; id: string } | undefined;
    await eventually(async () => {
      for (const queue of shardQueues)
        for (const job of await queue.getJobs(['prioritized', 'waiting']))
          if (job.id) queued = { queue, id: job.id };
      return queued !== undefined;
    }, 'the job to be queued');
    // What BullMQ's stalled-job check leaves on a job that stalled once too often: the next
    // worker to take it fails it with this reason, without running it.
    const { queue, id } = queued as { queue: Queue; id: string };
    const redis = connectTestRedis(gw.redisUrl);
    await redis.hset(queue.toKey(id), 'defa', 'job stalled more than allowable limit');
    await redis.quit();
    let runs = 0;
    worker(gw, { 'orders.create': () => ++runs });
    expect(await client.next(isReply('p1'), 10_000)).toMatchObject({
      ok: false,
      error: { code: 'ACTION_FAILED', retryable: false, detail: 'job stalled more than allowable limit' },
    });
    await settle(client);
    expect(runs).toBe(0);
    expect(replies(client)).toHaveLength(1);
  });
});

describe('priorities', () => {
  it('the worker takes queued actions by action class first, then tier, FIFO within', async () => {
    // One global order needs one shard (the default on one server, not on a cluster).
    const gw = await gateway({ ACTION_PRIORITIES: 'urgent=1,normal=5,bulk=9', ACTION_QUEUE_SHARDS: '1' });
    const waiting = waitingActions(gw);
    const free = await session(gw.url, 'f', 'free');
    const enterprise = await session(gw.url, 'e', 'enterprise');
    // Sent worst-first, so arrival order alone would get it backwards.
    const sent: string[] = [];
    for (const name of ['bulk', 'normal', 'urgent'])
      for (const { client, welcome } of [free, enterprise]) {
        const ref = `${name}:${welcome.userId}`;
        client.send({ type: 'action', ref, name, data: null });
        sent.push(ref);
        await eventually(async () => (await waiting()) === sent.length, `${ref} queued`);
      }

    // The worker comes up (one job at a time) only now that everything waits.
    const order: string[] = [];
    const record: ActionHandler = (_data, ctx) => {
      order.push(`${ctx.name}:${ctx.userId}`);
      return null;
    };
    worker(gw, { urgent: record, normal: record, bulk: record }, 1);
    await Promise.all(
      [free, enterprise].flatMap(({ client, welcome }) =>
        ['bulk', 'normal', 'urgent'].map((name) => client.next(isReply(`${name}:${welcome.userId}`))),
      ),
    );
    expect(order).toEqual(['urgent:e', 'urgent:f', 'normal:e', 'normal:f', 'bulk:e', 'bulk:f']);
  });

  it('with the queue in shards (ACTION_QUEUE_SHARDS) each session’s actions keep their order; every one is answered', async () => {
    const gw = await gateway({ ACTION_PRIORITIES: 'urgent=1,normal=5,bulk=9', ACTION_QUEUE_SHARDS: '4' });
    const waiting = waitingActions(gw);
    const sessions = await Promise.all(
      ['s1', 's2', 's3', 's4', 's5', 's6'].map((sub) => session(gw.url, sub)),
    );
    for (const name of ['bulk', 'normal', 'urgent'])
      for (const { client, welcome } of sessions)
        client.send({ type: 'action', ref: `${name}:${welcome.userId}`, name, data: null });
    await eventually(async () => (await waiting()) === 3 * sessions.length, 'every action queued');

    const order: string[] = [];
    const record: ActionHandler = (_data, ctx) => {
      order.push(`${ctx.name}:${ctx.userId}`);
      return null;
    };
    const started = startActionWorker({
      redisUrl: gw.redisUrl,
      prefix: gw.prefix,
      queueShards: 4,
      concurrency: 1, // one job at a time per shard
      handlers: { urgent: record, normal: record, bulk: record },
    });
    workers.push(started);
    for (const { client, welcome } of sessions)
      for (const name of ['urgent', 'normal', 'bulk'])
        await client.next(isReply(`${name}:${welcome.userId}`));
    for (const { welcome } of sessions)
      expect(order.filter((job) => job.endsWith(`:${welcome.userId}`))).toEqual(
        ['urgent', 'normal', 'bulk'].map((name) => `${name}:${welcome.userId}`),
      );
  });

  it('over ACTIONS_HIGH_WATER a burst of low-priority actions is refused past the mark; urgent ones still go through', async () => {
    // bulk's class 9 is at or above ACTIONS_LOW_PRIORITY_FROM (default 6): low priority.
    const gw = await gateway({ ACTIONS_HIGH_WATER: '3', ACTION_PRIORITIES: 'urgent=1,bulk=9' });
    const waiting = waitingActions(gw);
    const { client } = await session(gw.url, 'heavy');
    const bulk = Array.from({ length: 10 }, (_, i) => `b${i}`);
    for (const ref of bulk) client.send({ type: 'action', ref, name: 'bulk', data: null });
    const refusedRefs = bulk.slice(3);
    for (const ref of refusedRefs) {
      const error = (await client.next((f) => f.type === 'error' && f.ref === ref)) as ErrorFrame;
      expect(error).toMatchObject({ code: 'ACTION_OVERLOADED', retryable: true });
      expect(error.retryAfterMs).toBeGreaterThan(0);
    }
    await eventually(async () => (await waiting()) === 3, 'three bulk actions queued');

    client.send({ type: 'action', ref: 'u1', name: 'urgent', data: null });
    await eventually(async () => (await waiting()) === 4, 'the urgent action queued too');
    expect(client.frames.some((f) => f.type === 'error' && f.ref === 'u1')).toBe(false);

    worker(gw, { bulk: () => 'done', urgent: () => 'now' }, 1);
    expect(await client.next(isReply('u1'))).toMatchObject({ ok: true, data: 'now' });
    for (const ref of bulk.slice(0, 3)) await client.next(isReply(ref));
    await settle(client);
    expect(
      replies(client)
        .map((r) => r.ref)
        .sort(),
    ).toEqual(['b0', 'b1', 'b2', 'u1']);
  });

  it('with the default settings no action is low priority: over ACTIONS_HIGH_WATER every one is still queued', async () => {
    const gw = await gateway({ ACTIONS_HIGH_WATER: '2' }); // ACTION_PRIORITIES and ACTIONS_LOW_PRIORITY_FROM unset
    const waiting = waitingActions(gw);
    const { client } = await session(gw.url, 'plain');
    const refs = Array.from({ length: 5 }, (_, i) => `p${i}`);
    for (const ref of refs) client.send({ type: 'action', ref, name: 'anything', data: null });
    await eventually(async () => (await waiting()) === refs.length, 'all five queued past the mark of two');
    expect(client.frames.some((f) => f.type === 'error')).toBe(false);

    worker(gw, { anything: () => 'ok' }, 1);
    for (const ref of refs) expect(await client.next(isReply(ref))).toMatchObject({ ok: true, data: 'ok' });
  });
});

describe('replies follow the session', () => {
  it('a client that resumed on another gateway while the worker was slow gets each reply once, in order', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    const gates = new Map<string, () => void>();
    const contexts = new Map<string, ActionContext>();
    const slow = worker(a, {
      slow: (data, ctx) =>
        new Promise((resolve) => {
          const ref = (data as { ref: string }).ref;
          contexts.set(ref, ctx);
          gates.set(ref, () => resolve({ ref }));
        }),
    });
    const completed: string[] = [];
    for (const shard of slow.workers) shard.on('completed', (job) => completed.push(job.data.ref));

    const first = await session(a.url, 'mover', 'pro');
    for (const ref of ['s1', 's2']) first.client.send({ type: 'action', ref, name: 'slow', data: { ref } });
    await eventually(() => gates.size === 2, 'both actions in the worker');
    first.client.drop();

    // s1 finishes while the client is away; s2 after it has resumed on the other gateway.
    gates.get('s1')?.();
    await eventually(() => completed.includes('s1'), 's1 done');
    const second = await session(b.url, 'mover', 'pro', {
      resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken },
    });
    expect(second.welcome).toMatchObject({ resumed: true, sessionId: first.welcome.sessionId });
    await second.client.next(isReply('s1'));
    gates.get('s2')?.();
    await second.client.next(isReply('s2'));
    await settle(second.client);

    expect(replies(second.client).map((r) => [r.ref, r.ok, r.data])).toEqual([
      ['s1', true, { ref: 's1' }],
      ['s2', true, { ref: 's2' }],
    ]);
    // Both replies name the connection that asked, as the handler saw it.
    for (const reply of replies(second.client)) {
      expect(reply.correlationId).toBe(first.welcome.correlationId);
      expect(contexts.get(reply.ref)?.correlationId).toBe(first.welcome.correlationId);
    }
    expect(first.client.frames.some((f) => f.type === 'reply')).toBe(false);
  });
});

async function withdrawnCount(gw: TestGateway): Promise<number> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), 'tether_actions_withdrawn_total');
}

describe('an action no worker takes (ACTION_QUEUE_TIMEOUT_MS)', () => {
  it('is answered ACTION_TIMEOUT, retryable, once, and never runs — not even when a worker starts later', async () => {
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '1500' });
    const waiting = waitingActions(gw);
    const withdrawnBefore = await withdrawnCount(gw); // the registry is the test process's
    const { client } = await session(gw.url, 'nobody-home');
    client.send({ type: 'action', ref: 't1', name: 'orders.create', data: {} });
    client.send({ type: 'action', ref: 't2', name: 'orders.create', data: {} });
    for (const ref of ['t1', 't2'])
      expect(await client.next(isReply(ref), 8_000)).toMatchObject({
        ok: false,
        error: { code: 'ACTION_TIMEOUT', retryable: true, retryAfterMs: 5000 },
      });
    expect(await waiting()).toBe(0);
    // The sweep counts a batch once it has tidied up after answering it (a few round trips
    // after the replies went out): the count is read once it has had them.
    await eventually(
      async () => (await withdrawnCount(gw)) - withdrawnBefore >= 2,
      'the two withdrawals counted',
    );
    expect((await withdrawnCount(gw)) - withdrawnBefore).toBe(2);

    let runs = 0;
    worker(gw, {
      'orders.create': () => {
        runs++;
        return {};
      },
    });
    client.send({ type: 'action', ref: 't3', name: 'orders.create', data: {} });
    expect(await client.next(isReply('t3'))).toMatchObject({ ok: true });
    await settle(client);
    expect(runs).toBe(1); // t3 only
    expect(replies(client).map((r) => r.ref)).toEqual(['t1', 't2', 't3']);
  });

  it('a job a worker took before its deadline keeps the worker’s answer, however long it runs', async () => {
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '1000' });
    let release: (() => void) | undefined;
    worker(gw, { slow: () => new Promise((resolve) => (release = () => resolve({ done: true }))) });
    const { client } = await session(gw.url, 'patient');
    client.send({ type: 'action', ref: 's1', name: 'slow', data: {} });
    await eventually(() => release !== undefined, 'the worker to take the job');
    await sleep(2500); // two sweeps past the deadline
    release?.();
    expect(await client.next(isReply('s1'))).toMatchObject({ ok: true, data: { done: true } });
    await settle(client);
    expect(replies(client)).toHaveLength(1);
  });

  it('a job a sweep removed but could not answer (Redis went between) is answered by the next sweep', async () => {
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '1000' });
    const { client, welcome } = await session(gw.url, 'half-swept');
    client.send({ type: 'action', ref: 'first', name: 'orders.create', data: {} });
    expect(await client.next(isReply('first'), 8_000)).toMatchObject({ error: { code: 'ACTION_TIMEOUT' } });
    // What such a sweep leaves: the deadline, its withdrawn mark, and no job under its ID.
    const shard = actionShardOf(welcome.sessionId, shardsOf(gw));
    const queueKey = `${actionShardPrefixes(gw.prefix, shardsOf(gw))[shard]}:${ACTIONS_QUEUE}`;
    const deadlines = `${queueKey}:tether-deadlines`;
    const entry = {
      id: '999999',
      ref: 'half',
      sessionId: welcome.sessionId,
      correlationId: welcome.correlationId,
    };
    const redis = connectTestRedis(gw.redisUrl);
    try {
      await redis.set(`${queueKey}:tether-withdrawn:${entry.id}`, '1', 'PX', 60_000);
      await redis.zadd(deadlines, 0, `${entry.id.padStart(20, '0')} ${JSON.stringify(entry)}`);
    } finally {
      await redis.quit();
    }
    expect(await client.next(isReply('half'), 8_000)).toMatchObject({ error: { code: 'ACTION_TIMEOUT' } });
  });

  it('a backlog past its deadline is answered in one sweep, each session’s in the order sent', async () => {
    // The gateway's own sweeps never find these due: the test sweeps as if an hour later.
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '600000', ACTION_QUEUE_SHARDS: '1' });
    const sessions = await Promise.all(['b1', 'b2', 'b3'].map((sub) => session(gw.url, sub)));
    const refs = Array.from({ length: 150 }, (_, i) => `r${i}`);
    for (const ref of refs)
      for (const { client } of sessions) client.send({ type: 'action', ref, name: 'x' });
    await eventually(async () => (await waitingActions(gw)()) === 450, 'every action queued', 20_000);
    const redis = connectTestRedis(gw.redisUrl, { maxRetriesPerRequest: null });
    const { core } = gw.gateway;
    const queues = actionQueues(gw) as Queue<ActionJob>[];
    // A budget no machine runs out of: what is asserted is the batches, not the box's speed.
    const deadlines = new ActionDeadlines(redis, queues, 600_000, core.ports.events, core.logger, 60_000);
    try {
      expect(await deadlines.sweep(Date.now() + 3_600_000)).toBe(450); // 200 a batch: three of them
    } finally {
      await redis.quit();
    }
    for (const { client } of sessions) {
      await client.next(isReply('r149'), 10_000);
      expect(replies(client).map((r) => [r.ref, r.error?.code])).toEqual(
        refs.map((r) => [r, 'ACTION_TIMEOUT']),
      );
    }
  });

  it('a gateway that queued an action and died: another one answers it', async () => {
    const a = await gateway({ NODE_ID: 'gw-queued', ACTION_QUEUE_TIMEOUT_MS: '1500' });
    const { client, welcome } = await session(a.url, 'orphan');
    client.send({ type: 'action', ref: 'o1', name: 'orders.create', data: {} });
    await eventually(async () => (await waitingActions(a)()) === 1, 'the job to be queued');
    client.drop();
    await a.stop();
    const b = await gateway({ NODE_ID: 'gw-other', REDIS_PREFIX: a.prefix, ACTION_QUEUE_TIMEOUT_MS: '1500' });
    const resumed = await session(b.url, 'orphan', 'standard', {
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
    });
    expect(resumed.welcome.resumed).toBe(true);
    expect(await resumed.client.next(isReply('o1'), 8_000)).toMatchObject({
      ok: false,
      error: { code: 'ACTION_TIMEOUT' },
    });
  });
});

describe('a job run and answered, then gone from its queue before its deadline', () => {
  it('is not answered again: no ACTION_TIMEOUT after the worker’s reply, once the reply’s key has lapsed', async () => {
    // A deadline past the worker's inboxTtlMs (its reply key's window: 240 s by default, against
    // ACTION_QUEUE_TIMEOUT_MS up to 2^31 ms), here 2 s against half a second.
    const gw = await gateway({ ACTION_QUEUE_TIMEOUT_MS: '2000' });
    const started = startActionWorker({
      redisUrl: gw.redisUrl,
      prefix: gw.prefix,
      handlers: { echo: (data) => data },
      inboxTtlMs: 500,
    });
    workers.push(started);
    const withdrawnBefore = await withdrawnCount(gw);
    const { client } = await session(gw.url, 'served');
    client.send({ type: 'action', ref: 'e1', name: 'echo', data: 1 });
    expect(await client.next(isReply('e1'))).toMatchObject({ ok: true, data: 1 });
    // What removeOnComplete does once 1000 later jobs of the shard completed: the job is gone.
    for (const queue of actionQueues(gw))
      for (const job of await queue.getJobs(['completed'])) if (job.id) await queue.remove(job.id);
    await sleep(3500); // past the deadline, and a sweep after it
    expect(replies(client).map((r) => [r.ref, r.ok])).toEqual([['e1', true]]);
    expect((await withdrawnCount(gw)) - withdrawnBefore).toBe(0);
  });
});
