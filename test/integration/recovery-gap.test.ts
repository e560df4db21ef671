/**
 * Never a silent gap (issue 2, "Tests"): a resume past the channel's retention says
 * `recovered: false` and from which ID delivery continues; a resume past the
 * window gets RESUME_EXPIRED, a fresh session, and the old session is gone from
 * Redis and ended `failed` on the server. Both hold over both transports (WebSocket and the
 * SSE fallback, issue 17): a client of each shares the 1000 publishes that pass retention.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/redis/redis-target.ts';
import { compareEventIds, type ErrorFrame } from '../../src/shared/frames.ts';
import { eventually, lastId, publishMany, settle } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let redis: RedisConnection;
const gateways: TestGateway[] = [];
const clients: TestClient[] = [];

beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.quit());
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

async function session(url: string, hello: Record<string, unknown>) {
  const opened = await TestClient.session(url, hello);
  clients.push(opened.client);
  return opened;
}

async function subscribe(client: TestClient, channel: string, from?: string) {
  const ref = randomUUID().slice(0, 8);
  client.send({ type: 'subscribe', channel, ref, ...(from ? { from } : {}) });
  return client.next((f) => f.type === 'subscribed' && f.ref === ref);
}

describe('a resume the log cannot fully serve', () => {
  // A client of each transport on one channel: the 1000 publishes that pass retention, once.
  it('past retention: recovered false, the ID it resumes after, then every event still retained', async () => {
    const gw = await gateway({ CHANNEL_RETENTION: '10' });
    const channel = `gap:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'gappy' });
    const firsts = [];
    for (const transport of TRANSPORTS) {
      const first = await session(endpoint(gw, transport), { token });
      await subscribe(first.client, channel);
      firsts.push({ transport, ...first });
    }
    const before = await publishMany(gw.http, channel, 3);
    for (const { client } of firsts) {
      await client.waitForEvents(3);
      client.drop();
    }
    // Approximate MAXLEN trims only whole stream nodes (100 entries each): three full
    // nodes are published past, so at least two are trimmed away and one is held.
    const during = await publishMany(gw.http, channel, 300, 16);

    for (const { transport, welcome } of firsts) {
      const second = await session(endpoint(gw, transport), {
        token,
        resume: {
          sessionId: welcome.sessionId,
          resumeToken: welcome.resumeToken,
          lastEventIds: { [channel]: lastId(before) },
        },
      });
      expect(second.welcome, transport).toMatchObject({ resumed: true, recovered: false });
      const [resumeAt] = second.welcome.channels;
      expect(resumeAt).toMatchObject({ channel, recovered: false });
      const after = resumeAt?.after as string;
      // The gap is real and named: events the client never got lie at or before `after`.
      const lost = during.filter((id) => compareEventIds(id, after) <= 0);
      const retained = during.filter((id) => compareEventIds(id, after) > 0);
      expect(lost.length).toBeGreaterThan(0);
      expect(retained.length).toBeGreaterThan(0);
      await second.client.waitForEvents(retained.length);
      await settle(second.client);
      expect(ids(second.client.events()), transport).toEqual(retained);
    }
  });
});

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  describe('a resume after the window', () => {
    it('RESUME_EXPIRED with a fresh session; the old one failed and its Redis state is gone', async () => {
      const gw = await gateway({ RESUME_WINDOW_MS: '1500' });
      const channel = `expire:${randomUUID().slice(0, 8)}`;
      const token = await mintToken({ sub: 'late' });
      const first = await session(endpoint(gw, transport), { token });
      await subscribe(first.client, channel);
      const before = await publishMany(gw.http, channel, 2);
      await first.client.waitForEvents(2);
      const sessionKey = `${gw.prefix}:{s:${first.welcome.sessionId}}`;
      const failedBefore = gw.gateway.core.supervisor.endedCounts().failed;

      first.client.drop();
      await eventually(
        async () => (await redis.hget(sessionKey, 'health')) === 'reconnecting',
        'the session to wait in reconnecting',
      );
      const missed = await publishMany(gw.http, channel, 3);
      await eventually(
        () => gw.gateway.core.supervisor.endedCounts().failed > failedBefore,
        'the session actor to fail',
      );
      await eventually(async () => (await redis.exists(sessionKey)) === 0, 'the session hash to be deleted');

      const second = await session(endpoint(gw, transport), {
        token,
        resume: {
          sessionId: first.welcome.sessionId,
          resumeToken: first.welcome.resumeToken,
          lastEventIds: { [channel]: lastId(before) },
        },
      });
      const error = (await second.client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({
        code: 'RESUME_EXPIRED',
        category: 'connection',
        retryable: false,
        correlationId: second.welcome.correlationId,
      });
      expect(second.welcome).toMatchObject({ resumed: false, channels: [] });
      expect(second.welcome.sessionId).not.toBe(first.welcome.sessionId);
      expect(second.client.closed).toBeUndefined();

      // The documented way back: subscribe again from the last event seen.
      expect(await subscribe(second.client, channel, lastId(before))).toMatchObject({
        recovered: true,
        after: lastId(before),
      });
      await second.client.waitForEvents(missed.length);
      await settle(second.client);
      expect(ids(second.client.events())).toEqual(missed);
    });
  });
});
