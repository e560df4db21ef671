/**
 * Session lifecycle notifications (issue 15 item 6): a backend subscribed to the
 * reserved channels hears sessions start and end (with the reason) and channels
 * become occupied and vacated — across two gateway processes, once each, also when
 * the process holding a channel's last subscriber crashes. Nobody publishes there,
 * and only tokens with `system:` patterns read them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, EventFrame } from '../../src/shared/frames.ts';
import { sleep } from '../support/events.ts';
import { mintToken, TEST_API_KEY } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { TestClient } from '../support/ws-client.ts';

interface Notification {
  type: string;
  sessionId?: string;
  userId?: string;
  channel?: string;
  outcome?: string;
  reason?: string;
  cause?: string;
  subscribers?: number;
  node?: string;
}

const run = randomBytes(3).toString('hex');
let a: GatewayProcess;
let b: GatewayProcess;
let env: Record<string, string>;
let backend: TestClient;
const opened: TestClient[] = [];

beforeAll(async () => {
  env = {
    REDIS_PREFIX: `t${run}`,
    LIFECYCLE_EVENTS: 'sessions,channels',
    SESSION_LEASE_MS: '1000',
    RESUME_WINDOW_MS: '1500',
  };
  [a, b] = await Promise.all([
    spawnGateway(processEnv({ ...env, NODE_ID: `a-${run}` })),
    spawnGateway(processEnv({ ...env, NODE_ID: `b-${run}` })),
  ]);
  ({ client: backend } = await TestClient.session(a.url, {
    token: await mintToken({ sub: 'backend', channels: ['system:*'] }),
  }));
  for (const channel of ['system:sessions', 'system:channels']) {
    backend.send({ type: 'subscribe', channel, ref: channel });
    await backend.next((f) => f.type === 'subscribed' && f.ref === channel);
  }
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const client of [...opened, backend]) client?.drop();
  await Promise.all([a?.kill(), b?.kill()]);
});

async function session(gateway: GatewayProcess, sub: string, hello: Record<string, unknown> = {}) {
  const started = await TestClient.session(gateway.url, { token: await mintToken({ sub }), ...hello });
  opened.push(started.client);
  return started;
}

const heard = (channel: string, match: (n: Notification) => boolean) =>
  backend
    .events(channel)
    .map((event) => event.data as Notification)
    .filter(match);

async function hear(channel: string, match: (n: Notification) => boolean, count = 1, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (heard(channel, match).length < count) {
    if (Date.now() > deadline) throw new Error(`heard ${JSON.stringify(backend.events(channel).slice(-5))}`);
    await sleep(50);
  }
  return heard(channel, match);
}

const ofUser = (userId: string) => (n: Notification) => n.userId === userId;

describe('system:sessions', () => {
  it('a session started on one process and ended with bye', async () => {
    const { client, welcome } = await session(b, 'carol');
    const [started] = await hear('system:sessions', ofUser('carol'));
    expect(started).toMatchObject({
      type: 'session.started',
      sessionId: welcome.sessionId,
      userId: 'carol',
      node: `b-${run}`,
    });
    client.send({ type: 'bye' });
    const [, ended] = await hear('system:sessions', ofUser('carol'), 2);
    expect(ended).toMatchObject({
      type: 'session.ended',
      sessionId: welcome.sessionId,
      outcome: 'closed',
      reason: 'client said bye',
    });
  });

  it('a session whose resume window passed ended with RESUME_EXPIRED', async () => {
    const { client, welcome } = await session(a, 'dave');
    client.drop();
    const events = await hear('system:sessions', ofUser('dave'), 2);
    expect(events[1]).toMatchObject({
      type: 'session.ended',
      sessionId: welcome.sessionId,
      outcome: 'failed',
      reason: 'RESUME_EXPIRED',
    });
  });

  it('a session resumed on the other process neither starts again nor ends there', async () => {
    const { client, welcome } = await session(a, 'erin');
    client.drop();
    const resumed = await session(b, 'erin', {
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
    });
    expect(resumed.welcome.resumed).toBe(true);
    await sleep(2500); // past the resume window: process a's actor for it is long gone
    resumed.client.send({ type: 'bye' });
    await hear('system:sessions', ofUser('erin'), 2);
    await sleep(300);
    expect(heard('system:sessions', ofUser('erin')).map((n) => n.type)).toEqual([
      'session.started',
      'session.ended',
    ]);
  });

  it('keeps what it said: the backend reads it back with GET /channels/system:sessions/history', async () => {
    const res = await fetch(`${b.http}/channels/system:sessions/history?limit=1000`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    const events = ((await res.json()) as { events: EventFrame[] }).events;
    // First the backend's own session, which started before it subscribed; then all it heard live.
    expect(events[0]?.data).toMatchObject({ type: 'session.started', userId: 'backend' });
    expect(events.slice(1).map((event) => event.id)).toEqual(
      backend.events('system:sessions').map((event) => event.id),
    );
  });
});

describe('system:channels', () => {
  it('occupied by the first subscriber on any process, vacated when the last one leaves, once each', async () => {
    const channel = `room:occ-${run}`;
    const [{ client: onA }, { client: onB }] = await Promise.all([session(a, 'fay'), session(b, 'gus')]);
    onA.send({ type: 'subscribe', channel, ref: 's' });
    await onA.next((f) => f.type === 'subscribed');
    const [occupied] = await hear('system:channels', (n) => n.channel === channel);
    expect(occupied).toMatchObject({ type: 'channel.occupied', subscribers: 1, node: `a-${run}` });
    onB.send({ type: 'subscribe', channel, ref: 's' });
    await onB.next((f) => f.type === 'subscribed');
    onA.send({ type: 'unsubscribe', channel, ref: 'u' });
    await onA.next((f) => f.type === 'unsubscribed');
    onB.close();
    const events = await hear('system:channels', (n) => n.channel === channel, 2);
    await sleep(300);
    expect(heard('system:channels', (n) => n.channel === channel)).toHaveLength(2);
    expect(events[1]).toMatchObject({ type: 'channel.vacated', subscribers: 0, cause: 'left' });
    // Reported by the process whose leave reached Redis last: usually b's, but a's leave is
    // written behind its `unsubscribed` reply, so on a loaded box it may land after b's.
    expect([`a-${run}`, `b-${run}`]).toContain(events[1]?.node);
  });

  it(
    'vacated when the process holding the last subscriber crashes, once its lease lapses',
    async () => {
      const channel = `room:crash-${run}`;
      const c = await spawnGateway(processEnv({ ...env, NODE_ID: `c-${run}` }));
      try {
        const { client } = await TestClient.session(c.url, { token: await mintToken({ sub: 'hal' }) });
        client.send({ type: 'subscribe', channel, ref: 's' });
        await client.next((f) => f.type === 'subscribed');
        await hear('system:channels', (n) => n.channel === channel);
        await c.kill('SIGKILL');
        const [, vacated] = await hear('system:channels', (n) => n.channel === channel, 2, 15_000);
        expect(vacated).toMatchObject({ type: 'channel.vacated', cause: 'lapsed' });
        expect([`a-${run}`, `b-${run}`]).toContain(vacated?.node);
      } finally {
        await c.kill('SIGKILL');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('reserved channels', () => {
  it('nobody publishes there: PUBLISH_FORBIDDEN on the socket, 403 over HTTP', async () => {
    const { client } = await session(a, 'ida');
    client.send({ type: 'publish', ref: 'p', channel: 'system:sessions', data: { type: 'session.started' } });
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'PUBLISH_FORBIDDEN' });
    const res = await fetch(`${a.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ channel: 'system:channels', data: 1 }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'PUBLISH_FORBIDDEN' });
  });

  it('a token whose channels claim is * does not read them; system:sessions by name does', async () => {
    const { client } = await session(b, 'jon');
    client.send({ type: 'subscribe', channel: 'system:sessions', ref: 's' });
    expect((await client.next((f) => f.type === 'error')) as ErrorFrame).toMatchObject({
      code: 'FORBIDDEN_CHANNEL',
      detail: 'system:sessions',
    });
    const { client: named } = await TestClient.session(b.url, {
      token: await mintToken({ sub: 'ops', channels: ['system:sessions'] }),
    });
    opened.push(named);
    named.send({ type: 'subscribe', channel: 'system:sessions', ref: 's' });
    expect(await named.next((f) => 'ref' in f && f.ref === 's')).toMatchObject({ type: 'subscribed' });
    named.send({ type: 'subscribe', channel: 'system:channels', ref: 'c' });
    expect(await named.next((f) => 'ref' in f && f.ref === 'c')).toMatchObject({ code: 'FORBIDDEN_CHANNEL' });
  });

  it('a resume or a refresh whose token has only * drops a system channel the session had', async () => {
    const ops = await mintToken({ sub: 'kim', channels: ['system:*', 'room:*'] });
    const { client, welcome } = await TestClient.session(a.url, { token: ops });
    opened.push(client);
    client.send({ type: 'subscribe', channel: 'system:channels', ref: 's' });
    await client.next((f) => f.type === 'subscribed');
    client.drop();
    const resumed = await TestClient.session(b.url, {
      token: await mintToken({ sub: 'kim', channels: ['*'] }),
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
    });
    opened.push(resumed.client);
    expect(resumed.welcome.channels.map((c) => c.channel)).not.toContain('system:channels');
    expect(await resumed.client.next((f) => f.type === 'error')).toMatchObject({
      code: 'FORBIDDEN_CHANNEL',
      detail: 'dropped system:channels on resume',
    });
    resumed.client.send({ type: 'subscribe', channel: 'system:sessions', ref: 's2' });
    await resumed.client.next((f) => f.type === 'error' && f.ref === 's2');
    const { client: refreshing } = await TestClient.session(a.url, { token: ops });
    opened.push(refreshing);
    refreshing.send({ type: 'subscribe', channel: 'system:sessions', ref: 's' });
    await refreshing.next((f) => f.type === 'subscribed');
    refreshing.send({ type: 'refresh', ref: 'r', token: await mintToken({ sub: 'kim', channels: ['*'] }) });
    expect(await refreshing.next((f) => f.type === 'error')).toMatchObject({
      code: 'FORBIDDEN_CHANNEL',
      detail: 'dropped system:sessions on refresh',
    });
  });
});
