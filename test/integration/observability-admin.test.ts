/**
 * Admin and health routes (issue 4): credentials are required and refusals are
 * audited; with the key, each route answers what an operator needs — health and
 * config sanity, detailed and rate-limit stats, one connection's actor snapshot
 * and history, and the removal of stale session keys and of the admission queues
 * of processes that died.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionQueueName, admissionQueuePrefix } from '../../src/admission/admission-queue.ts';
import { eventually, settle } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_ADMIN_KEY, type TestGateway } from '../support/gateway.ts';
import { PROCESS_TEST_TIMEOUT_MS, processEnv, spawnGateway } from '../support/gateway-process.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

let gw: LoggedGateway;
let redis: Redis;
beforeAll(async () => {
  gw = await startLoggedGateway({ LOG_LEVEL: 'info' });
  redis = new Redis(gw.gateway.core.config.redisUrl as string);
});
afterAll(async () => {
  redis?.disconnect();
  await gw?.stop();
});

/** Enough structure to read JSON answers in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are only read by assertions
type Json = Record<string, any>;

const ADMIN_ROUTES: [method: string, path: string][] = [
  ['GET', '/health/websocket'],
  ['GET', '/ws/stats/detailed'],
  ['GET', '/ws/stats/rate-limit'],
  ['POST', '/ws/cleanup'],
  ['GET', '/connections/anything'],
];

describe('admin credentials', () => {
  it.each(ADMIN_ROUTES)(
    '%s %s: 401 without a credential and with a wrong one, each audited',
    async (method, path) => {
      const before = gw.lines().length;
      const missing = await fetch(`${gw.http}${path}`, { method });
      const wrong = await fetch(`${gw.http}${path}`, {
        method,
        headers: { 'x-api-key': 'wrong-key-0123456789' },
      });
      expect([missing.status, wrong.status]).toEqual([401, 401]);
      expect(missing.headers.get('www-authenticate')).toContain('Bearer');
      expect(((await wrong.json()) as { error: string }).error).toBe('UNAUTHORIZED');
      const audit = gw
        .lines()
        .slice(before)
        .filter((line) => line.audit === 'admin.denied');
      expect(audit.map((line) => [line.method, line.route, line.reason])).toEqual([
        [method, path, 'missing'],
        [method, path, 'wrong'],
      ]);
      expect(audit[0]).toMatchObject({ ip: '127.0.0.1', level: 40 });
    },
  );

  it('accepts the key as a Bearer token (the scheme in any case) or as x-api-key', async () => {
    const bearer = await fetch(`${gw.http}/ws/stats/detailed`, { headers: admin });
    const lower = await fetch(`${gw.http}/ws/stats/detailed`, {
      headers: { authorization: `bearer ${TEST_ADMIN_KEY}` },
    });
    const header = await fetch(`${gw.http}/ws/stats/detailed`, { headers: { 'x-api-key': TEST_ADMIN_KEY } });
    expect([bearer.status, lower.status, header.status]).toEqual([200, 200, 200]);
  });

  it('without ADMIN_API_KEY configured, admin routes are closed and say why', async () => {
    const bare: TestGateway = await startTestGateway({ ADMIN_API_KEY: '' });
    try {
      const res = await fetch(`${bare.http}/health/websocket`, { headers: admin });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toContain('set ADMIN_API_KEY');
    } finally {
      await bare.stop();
    }
  });

  it('leaves /metrics, /ws/stats, /livez and /readyz open', async () => {
    for (const path of ['/metrics', '/ws/stats', '/livez', '/readyz'])
      expect((await fetch(`${gw.http}${path}`)).status, path).toBe(200);
  });
});

describe('with the admin key', () => {
  it('/health/websocket reports pool, counts, Redis and configuration checks', async () => {
    const res = await fetch(`${gw.http}/health/websocket`, { headers: admin });
    const health = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(['healthy', 'degraded']).toContain(health.status);
    expect(health.redis).toMatchObject({ status: 'ready' });
    expect(health.redis.version).toMatch(/^\d+\.\d+/);
    expect(health.pool).toMatchObject({ maxConnections: 10_000 });
    expect(health.connections.byState).toHaveProperty('connected');
    const checks = (health.config as { name: string; ok: boolean }[]).map((check) => check.name);
    expect(checks).toEqual(
      expect.arrayContaining(['auth', 'heartbeat_vs_resume_window', 'file_descriptors']),
    );
    expect(health.config.find((c: { name: string }) => c.name === 'auth').ok).toBe(true);
  });

  it('/ws/stats counts live states now and final states since start, apart', async () => {
    type Counts<K extends string> = Record<K, number>;
    type Stats = {
      sessions: Counts<'connecting' | 'connected' | 'reconnecting'>;
      endedSinceStart: Counts<'failed' | 'closed' | 'handedOver'>;
    };
    const stats = async () => (await (await fetch(`${gw.http}/ws/stats`)).json()) as Stats;
    const before = await stats();
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'nell' }) });
    expect((await stats()).sessions.connected).toBe(before.sessions.connected + 1);
    client.send({ type: 'bye' });
    await eventually(
      async () => (await stats()).endedSinceStart.closed === before.endedSinceStart.closed + 1,
      'the session closed',
    );
    const after = await stats();
    // A closed session is no longer counted as one: the live counts are back where they were.
    expect(after.sessions).toEqual(before.sessions);
    expect(Object.keys(after.sessions).sort()).toEqual(['connected', 'connecting', 'reconnecting']);
    const health = await (await fetch(`${gw.http}/health/websocket`, { headers: admin })).json();
    expect(health.connections.endedSinceStart).toEqual(after.endedSinceStart);
  });

  it('/ws/stats/detailed and GET /connections/:id describe a live connection, without secrets', async () => {
    const token = await mintToken({ sub: 'olga', tier: 'pro' });
    const { client, welcome } = await TestClient.session(gw.url, { token });
    client.send({ type: 'subscribe', channel: 'ops:1', ref: 's' });
    await settle(client);

    const detailed = await (await fetch(`${gw.http}/ws/stats/detailed`, { headers: admin })).text();
    expect(JSON.parse(detailed).socketBreakdown.byTier.pro).toBeGreaterThanOrEqual(1);
    const res = await fetch(`${gw.http}/connections/${welcome.connectionId}`, { headers: admin });
    const text = await res.text();
    expect(res.status).toBe(200);
    const snapshot = JSON.parse(text);
    expect(snapshot).toMatchObject({
      foundBy: 'connection',
      actor: {
        state: 'connected',
        context: { correlationId: welcome.correlationId, sessionId: welcome.sessionId, userId: 'olga' },
      },
      socket: { userId: 'olga', tier: 'pro', channels: ['ops:1'] },
    });
    expect(snapshot.history.map((h: { to: string }) => h.to)).toEqual(['connecting', 'connected']);
    for (const body of [text, detailed]) {
      expect(body).not.toContain(token);
      expect(body).not.toContain(welcome.resumeToken);
    }

    // Dropped: no socket any more, but the session's actor waits in `reconnecting`.
    client.drop();
    await client.waitClosed();
    const bySession = await fetch(`${gw.http}/connections/${welcome.sessionId}`, { headers: admin });
    const waiting = (await bySession.json()) as Json;
    expect(waiting).toMatchObject({
      foundBy: 'session',
      actor: { state: 'reconnecting' },
      socket: null,
    });
    expect(waiting.history.at(-1)).toMatchObject({ from: 'connected', to: 'reconnecting' });
    expect((await fetch(`${gw.http}/connections/${randomUUID()}`, { headers: admin })).status).toBe(404);
  });

  it('/ws/stats/detailed counts sockets by tier whatever the tier is called, `__proto__` and `constructor` too', async () => {
    const tiers = ['__proto__', '__proto__', 'constructor', 'toString'];
    const clients = await Promise.all(
      tiers.map(async (tier, i) => {
        const token = await mintToken({ sub: `tiered-${i}`, tier });
        return (await TestClient.session(gw.url, { token })).client;
      }),
    );
    const { byTier } = (
      (await (await fetch(`${gw.http}/ws/stats/detailed`, { headers: admin })).json()) as Json
    ).socketBreakdown;
    expect(Object.getOwnPropertyDescriptor(byTier, '__proto__')?.value).toBe(2);
    expect(Object.hasOwn(byTier, 'constructor') && byTier.constructor).toBe(1);
    expect(Object.hasOwn(byTier, 'toString') && byTier.toString).toBe(1);
    for (const client of clients) client.drop();
  });

  it('/ws/stats/rate-limit reports the limits and the refusals', async () => {
    const stats = (await (await fetch(`${gw.http}/ws/stats/rate-limit`, { headers: admin })).json()) as Json;
    expect(stats.limits).toMatchObject({ connectPerIp: 300, maxPerUser: 50, messagesPerSecond: 100 });
    expect(stats.hitsSinceStart).toBeTypeOf('object');
  });

  it('POST /ws/cleanup removes stale session keys (dry run first) and keeps live ones', async () => {
    const { client, welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'cleo' }) });
    const key = (id: string) => `${gw.prefix}:{s:${id}}`;
    const noTtl = randomUUID();
    const expired = randomUUID();
    const stillResumable = randomUUID();
    await redis.hset(key(noTtl), { session_id: noTtl, health: 'connected', last_activity: Date.now() });
    await redis.hset(key(expired), {
      session_id: expired,
      health: 'reconnecting',
      last_activity: Date.now() - 3_600_000,
    });
    await redis.pexpire(key(expired), 60_000);
    await redis.hset(key(stillResumable), {
      session_id: stillResumable,
      health: 'reconnecting',
      last_activity: Date.now(),
    });
    await redis.pexpire(key(stillResumable), 60_000);

    const dry = await fetch(`${gw.http}/ws/cleanup?dryRun=true`, { method: 'POST', headers: admin });
    const planned = (await dry.json()) as { stale: { sessionId: string; reason: string }[]; removed: number };
    expect(planned.removed).toBe(0);
    expect(planned.stale).toEqual(
      expect.arrayContaining([
        { sessionId: noTtl, reason: 'no-ttl' },
        { sessionId: expired, reason: 'resume-window-passed' },
      ]),
    );
    expect(planned.stale.map((s) => s.sessionId)).not.toContain(stillResumable);
    expect(await redis.exists(key(noTtl), key(expired))).toBe(2);

    const real = await fetch(`${gw.http}/ws/cleanup`, { method: 'POST', headers: admin });
    expect(((await real.json()) as { removed: number }).removed).toBeGreaterThanOrEqual(2);
    expect(await redis.exists(key(noTtl), key(expired))).toBe(0);
    expect(await redis.exists(key(stillResumable), key(welcome.sessionId))).toBe(2);
    expect(gw.lines().some((line) => line.audit === 'admin.cleanup')).toBe(true);
    client.close();
  });

  it('POST /ws/cleanup refuses a dryRun that is not a documented boolean, or an unknown parameter, removing nothing', async () => {
    const stale = `${gw.prefix}:{s:${randomUUID()}}`;
    await redis.hset(stale, { health: 'connected', last_activity: Date.now() }); // no TTL: stale
    const cleanup = (query: string) =>
      fetch(`${gw.http}/ws/cleanup${query}`, { method: 'POST', headers: admin });
    for (const query of [
      '?dryRun=ture',
      '?dryRun=maybe',
      '?dryRun=on',
      '?dryRun=TRUE',
      '?dryRun',
      '?dry_run=true',
      '?dryRun=1&dryRun=0',
    ]) {
      const refused = await cleanup(query);
      expect(refused.status, query).toBe(400);
      expect((await refused.json()) as Json, query).toMatchObject({
        error: 'MALFORMED_MESSAGE',
        correlationId: expect.any(String),
      });
      expect(await redis.exists(stale), query).toBe(1);
    }
    for (const query of ['?dryRun=1', '?dryRun=yes', '?dryRun=true']) {
      const dry = (await (await cleanup(query)).json()) as Json;
      expect(dry, query).toMatchObject({ dryRun: true, removed: 0 });
      expect(await redis.exists(stale), query).toBe(1);
    }
    expect((await (await cleanup('?dryRun=no')).json()) as Json).toMatchObject({ dryRun: false });
    expect(await redis.exists(stale)).toBe(0);
  });

  it(
    'POST /ws/cleanup removes the admission queue of a process that died, once its node key expired; a live one’s stays',
    async () => {
      const queueKeys = (nodeId: string) =>
        redis.keys(`${admissionQueuePrefix(gw.prefix, nodeId)}:${admissionQueueName(nodeId)}:*`);
      const cleanup = async (dryRun: boolean) =>
        (await (
          await fetch(`${gw.http}/ws/cleanup${dryRun ? '?dryRun=true' : ''}`, {
            method: 'POST',
            headers: admin,
          })
        ).json()) as { admissionQueues: { stale: string[]; removed: number } };
      // This gateway says it is alive.
      const lapsesAt = async (nodeId: string) => Number(await redis.zscore(`${gw.prefix}:nodes`, nodeId));
      expect(await lapsesAt(gw.gateway.core.config.nodeId)).toBeGreaterThan(Date.now());

      // A live process elsewhere with someone waiting in its queue.
      await redis.zadd(`${gw.prefix}:nodes`, Date.now() + 60_000, 'alive.node');
      const alive = new Queue(admissionQueueName('alive.node'), {
        connection: { url: gw.gateway.core.config.redisUrl },
        prefix: admissionQueuePrefix(gw.prefix, 'alive.node'),
      });
      await alive.add('admit', { connectionId: 'w1' }, { jobId: 'w1', priority: 3 });
      await alive.close();

      // A process that dies (SIGKILL) with a client waiting in its admission queue.
      const doomed = await spawnGateway(
        processEnv({
          REDIS_PREFIX: gw.prefix,
          NODE_ID: 'doomed.node-1',
          MAX_CONNECTIONS: '1',
          SESSION_LEASE_MS: '1000',
        }),
      );
      const holder = await TestClient.session(doomed.url, { token: await mintToken({ sub: 'holder' }) });
      const waiter = await TestClient.connect(doomed.url);
      waiter.send({ type: 'hello', token: await mintToken({ sub: 'waiter' }) });
      await waiter.next((f) => f.type === 'queued');
      await doomed.kill('SIGKILL');
      holder.client.drop();
      waiter.drop();
      expect((await queueKeys('doomed.node-1')).length).toBeGreaterThan(0);
      // Nothing refreshes its node entry any more: it lapses after 3 × SESSION_LEASE_MS.
      await eventually(async () => (await lapsesAt('doomed.node-1')) < Date.now(), 'the dead node lapsed');

      const planned = await cleanup(true);
      expect(planned.admissionQueues).toEqual({ stale: [admissionQueueName('doomed.node-1')], removed: 0 });
      expect((await queueKeys('doomed.node-1')).length).toBeGreaterThan(0);

      expect((await cleanup(false)).admissionQueues).toEqual({
        stale: [admissionQueueName('doomed.node-1')],
        removed: 1,
      });
      expect(await queueKeys('doomed.node-1')).toEqual([]);
      expect((await queueKeys('alive.node')).length).toBeGreaterThan(0);
      expect(
        gw.lines().some((line) => line.audit === 'admin.cleanup' && Array.isArray(line.staleAdmissionQueues)),
      ).toBe(true);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
