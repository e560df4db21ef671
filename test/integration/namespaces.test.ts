/**
 * Channel namespaces (issue 15 item 1), on two gateway processes sharing one
 * CONFIG_FILE and one Redis: `publish: backend` refuses clients, `replay: false`
 * delivers live only and says so, `maxSubscribers` caps subscribers across both
 * processes (and a crashed process's subscribers lapse), `historyMaxAgeMs` trims. What a
 * client meets runs over both transports (WebSocket and the SSE fallback, issue 17).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, EventFrame, SubscribedFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { publishMany, sleep } from '../support/events.ts';
import { mintToken, publishHttp, TEST_API_KEY } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'tether-namespaces-'));
let a: GatewayProcess;
let b: GatewayProcess;
let env: Record<string, string>;
const opened: TestClient[] = [];

beforeAll(async () => {
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      namespaces: {
        feed: { publish: 'backend' },
        cursor: { replay: false },
        stage: { maxSubscribers: 2 },
        solo: { maxSubscribers: 1 },
        aged: { historyMaxAgeMs: 1000 },
        // Past 1970: "keep forever" written as an age (63 years).
        forever: { historyMaxAgeMs: 2_000_000_000_000 },
      },
    }),
  );
  env = { REDIS_PREFIX: `t${run}`, CONFIG_FILE: config, SESSION_LEASE_MS: '1000' };
  [a, b] = await Promise.all([
    spawnGateway(processEnv({ ...env, NODE_ID: `a-${run}` })),
    spawnGateway(processEnv({ ...env, NODE_ID: `b-${run}` })),
  ]);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const client of opened) client.drop();
  await Promise.all([a?.kill(), b?.kill()]);
  rmSync(dir, { recursive: true, force: true });
});

async function session(
  gateway: GatewayProcess,
  hello: Record<string, unknown> = {},
  transport: Transport = 'websocket',
) {
  const url = endpoint(gateway, transport);
  const started = await TestClient.session(url, { token: await mintToken({ sub: 'ann' }), ...hello });
  opened.push(started.client);
  return started;
}

let refs = 0;
function subscribe(client: TestClient, channel: string, extra: Record<string, unknown> = {}) {
  const ref = `s${refs++}`;
  client.send({ type: 'subscribe', ref, channel, ...extra });
  return client.next((f): f is SubscribedFrame | ErrorFrame => 'ref' in f && f.ref === ref);
}

async function history(gateway: GatewayProcess, channel: string): Promise<EventFrame[]> {
  const res = await fetch(`${gateway.http}/channels/${channel}/history?limit=1000`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  return ((await res.json()) as { events: EventFrame[] }).events;
}

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  describe('publish: backend', () => {
    it('refuses a client’s publish with PUBLISH_FORBIDDEN saying why; the backend publishes', async () => {
      const channel = `feed:${run}-${transport}`;
      const { client } = await session(a, {}, transport);
      await subscribe(client, channel);
      client.send({ type: 'publish', ref: 'p1', channel, data: 'from a client' });
      const refused = (await client.next((f) => f.type === 'error' && f.ref === 'p1')) as ErrorFrame;
      expect(refused).toMatchObject({ code: 'PUBLISH_FORBIDDEN', retryable: false });
      expect(refused.detail).toBe(
        `${channel}: namespace "feed" takes publishes from the backend only (publish: backend)`,
      );
      await publishHttp(b.http, channel, 'from the backend');
      await client.waitForEvents(1, channel);
      expect(client.events(channel).map((event) => event.data)).toEqual(['from the backend']);
      client.send({ type: 'publish', ref: 'p2', channel: `room:${run}-${transport}`, data: 1 });
      await client.next((f) => f.type === 'ack' && f.ref === 'p2');
    });
  });

  describe('replay: false', () => {
    it('subscribe with from: live from now, recovered false when events were skipped, true when none were', async () => {
      const channel = `cursor:${run}-${transport}`;
      const ids = await publishMany(a.http, channel, 3, 1);
      const { client } = await session(b, {}, transport);
      const skipped = (await subscribe(client, channel, { from: ids[0] })) as SubscribedFrame;
      expect(skipped).toMatchObject({ type: 'subscribed', recovered: false, after: ids[2] });
      const { client: upToDate } = await session(b, {}, transport);
      expect(await subscribe(upToDate, channel, { from: ids[2] })).toMatchObject({
        recovered: true,
        after: ids[2],
      });
      const live = await publishHttp(a.http, channel, 'live');
      await client.waitForEvents(1, channel);
      expect(client.events(channel).map((event) => event.id)).toEqual([live]);
    });

    it('a resumed session’s channel is not replayed: recovered false, then live', async () => {
      const channel = `cursor:resume-${run}-${transport}`;
      const { client, welcome } = await session(a, {}, transport);
      const subscribed = (await subscribe(client, channel)) as SubscribedFrame;
      client.drop();
      const missed = await publishMany(a.http, channel, 2, 1);
      const resumed = await session(
        b,
        {
          resume: {
            sessionId: welcome.sessionId,
            resumeToken: welcome.resumeToken,
            lastEventIds: { [channel]: subscribed.after },
            epochs: { [channel]: subscribed.epoch },
          },
        },
        transport,
      );
      expect(resumed.welcome).toMatchObject({ resumed: true, recovered: false });
      expect((resumed.welcome as WelcomeFrame).channels).toEqual([
        { channel, recovered: false, after: missed[1], epoch: subscribed.epoch },
      ]);
      const live = await publishHttp(a.http, channel, 'live');
      await resumed.client.waitForEvents(1, channel);
      expect(resumed.client.events(channel).map((event) => event.id)).toEqual([live]);
    });
  });

  describe('maxSubscribers', () => {
    it('caps subscribers across both processes; CHANNEL_FULL leaves the connection open, and room frees on leave', async () => {
      const channel = `stage:${run}-${transport}`;
      const [{ client: first }, { client: second }, { client: third }] = await Promise.all([
        session(a, {}, transport),
        session(b, {}, transport),
        session(a, {}, transport),
      ]);
      expect(await subscribe(first, channel)).toMatchObject({ type: 'subscribed' });
      expect(await subscribe(second, channel)).toMatchObject({ type: 'subscribed' });
      for (const client of [third, (await session(b, {}, transport)).client]) {
        const full = (await subscribe(client, channel)) as ErrorFrame;
        expect(full).toMatchObject({ type: 'error', code: 'CHANNEL_FULL', retryable: true });
        expect(full.detail).toBe(`${channel}: 2 subscribers (maxSubscribers of namespace "stage")`);
      }
      first.send({ type: 'unsubscribe', channel, ref: 'u' });
      await first.next((f) => f.type === 'unsubscribed');
      expect(await subscribe(third, channel)).toMatchObject({ type: 'subscribed' });
      second.close(); // a socket that closes gives its place back too
      await second.waitClosed();
      const { client: fourth } = await session(b, {}, transport);
      await expectEventually(async () => (await subscribe(fourth, channel)).type === 'subscribed');
      const { client: fifth } = await session(a, {}, transport);
      expect(await subscribe(fifth, channel)).toMatchObject({ code: 'CHANNEL_FULL' });
    });

    it('a subscribe taken back at once (an unsubscribe right behind it) leaves no place held', async () => {
      const channel = `stage:taken-back-${run}-${transport}`;
      await publishMany(a.http, channel, 3, 1);
      for (const from of [undefined, '0-0']) {
        const { client } = await session(a, {}, transport);
        client.send({ type: 'subscribe', channel, ref: 's', ...(from ? { from } : {}) });
        client.send({ type: 'unsubscribe', channel, ref: 'u' });
        await client.next((f) => f.type === 'unsubscribed' && f.ref === 'u');
      }
      // Both still connected, holding nothing: the two places are free.
      const [{ client: one }, { client: two }] = await Promise.all([
        session(a, {}, transport),
        session(b, {}, transport),
      ]);
      expect(await subscribe(one, channel)).toMatchObject({ type: 'subscribed' });
      expect(await subscribe(two, channel)).toMatchObject({ type: 'subscribed' });
    });

    it('a resumed session keeps its channel past the cap', async () => {
      const channel = `solo:resume-${run}-${transport}`;
      const { client, welcome } = await session(a, {}, transport);
      const subscribed = (await subscribe(client, channel)) as SubscribedFrame;
      client.drop();
      const { client: newcomer } = await session(b, {}, transport);
      await expectEventually(async () => (await subscribe(newcomer, channel)).type === 'subscribed');
      const resumed = await session(
        b,
        {
          resume: {
            sessionId: welcome.sessionId,
            resumeToken: welcome.resumeToken,
            lastEventIds: { [channel]: subscribed.after },
          },
        },
        transport,
      );
      expect((resumed.welcome as WelcomeFrame).channels.map((c) => c.channel)).toEqual([channel]);
      await publishHttp(a.http, channel, 'both hear it');
      await Promise.all([resumed.client.waitForEvents(1, channel), newcomer.waitForEvents(1, channel)]);
    });
  });
});

// A crashed process's subscribers lapse with its lease: the registry's, whatever the transport.
describe('maxSubscribers after a crash', () => {
  it(
    'subscribers of a process that crashed lapse with its lease, and the channel has room again',
    async () => {
      const channel = `solo:crash-${run}`;
      const c = await spawnGateway(processEnv({ ...env, NODE_ID: `c-${run}` }));
      try {
        const { client } = await TestClient.session(c.url, { token: await mintToken({ sub: 'ann' }) });
        expect(await subscribe(client, channel)).toMatchObject({ type: 'subscribed' });
        const { client: waiting } = await session(a);
        expect(await subscribe(waiting, channel)).toMatchObject({ code: 'CHANNEL_FULL' });
        await c.kill('SIGKILL');
        const crashedAt = Date.now();
        await expectEventually(async () => (await subscribe(waiting, channel)).type === 'subscribed', 15_000);
        // The lease is three SESSION_LEASE_MS (3 s): not before, and not much after.
        expect(Date.now() - crashedAt).toBeGreaterThan(1000);
      } finally {
        await c.kill('SIGKILL');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('historyMaxAgeMs', () => {
  it('trims events older than the age on the next append (whole stream nodes); other channels keep theirs', async () => {
    const aged = `aged:${run}`;
    const kept = `room:kept-${run}`;
    const old = await publishMany(a.http, aged, 300, 8);
    await publishMany(a.http, kept, 300, 8);
    await sleep(1200);
    const fresh = await publishHttp(a.http, aged, 'fresh');
    await publishHttp(a.http, kept, 'fresh');
    const held = await history(b, aged);
    expect(held.length).toBeLessThan(old.length);
    expect(held.at(-1)?.id).toBe(fresh);
    expect(held[0]?.id).not.toBe(old[0]);
    expect(await history(b, kept)).toHaveLength(301);
  });

  it('an age reaching before 1970 trims nothing: each publish is acked, delivered live and stored once', async () => {
    const channel = `forever:${run}`;
    const { client } = await session(b);
    expect((await subscribe(client, channel)).type).toBe('subscribed');
    const ids = [await publishHttp(a.http, channel, 'one'), await publishHttp(a.http, channel, 'two')];
    for (const id of ids) {
      const delivered = (await client.next((f) => f.type === 'event' && f.channel === channel)) as EventFrame;
      expect(delivered.id).toBe(id);
    }
    expect((await history(b, channel)).map((e) => e.id)).toEqual(ids);
  });
});

/** Retry `attempt` until it holds (a count that frees asynchronously), bounded. */
async function expectEventually(attempt: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms`);
    await sleep(200);
  }
}
