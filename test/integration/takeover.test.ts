/**
 * Resuming a session whose old connection is still open — half-open after a network
 * change (docs/protocol.md §7, "Still attached elsewhere"): the old connection is
 * closed with SERVICE_RESTART (1012), the new one gets every event once, and the
 * session stays resumable long after the old connection's resume window would
 * have ended — on the same gateway and across gateways, over both transports at once
 * (WebSocket and the SSE fallback, issue 17).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, lastId, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { ids, TestClient } from '../support/ws-client.ts';

// Short windows so "after the old connection's window" comes quickly:
// a live session's TTL is RESUME_WINDOW_MS + 2 × SESSION_LEASE_MS = 3 s.
const TIMING = { RESUME_WINDOW_MS: '1000', SESSION_LEASE_MS: '1000' };
const PAST_EVERY_TTL_MS = 3500;

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway({ ...TIMING, ...overrides });
  gateways.push(gw);
  return gw;
}

async function hello(url: string, frame: Record<string, unknown>) {
  const session = await TestClient.session(url, frame);
  clients.push(session.client);
  return session;
}

const resumeFrame = (token: string, welcome: WelcomeFrame, channel: string, last: string) => ({
  token,
  resume: {
    sessionId: welcome.sessionId,
    resumeToken: welcome.resumeToken,
    lastEventIds: { [channel]: last },
  },
});

async function takeOver(oldUrl: string, newUrl: string, publishUrl: string) {
  const channel = `takeover:${randomUUID().slice(0, 8)}`;
  const token = await mintToken({ sub: `mover-${randomUUID().slice(0, 4)}` });
  const old = await hello(oldUrl, { token });
  old.client.send({ type: 'subscribe', channel, ref: 'sub' });
  await old.client.next((f) => f.type === 'subscribed');
  const before = await publishMany(publishUrl, channel, 3);
  await old.client.waitForEvents(3);

  // The old socket is never dropped by the client: the gateway must retire it.
  const taken = await hello(newUrl, resumeFrame(token, old.welcome, channel, lastId(before)));
  expect(taken.welcome).toMatchObject({ sessionId: old.welcome.sessionId, resumed: true, recovered: true });
  const error = (await old.client.next((f) => f.type === 'error')) as ErrorFrame;
  expect(error).toMatchObject({ code: 'SERVICE_RESTART', correlationId: old.welcome.correlationId });
  expect((await old.client.waitClosed()).code).toBe(1012);

  const after = await publishMany(publishUrl, channel, 5);
  await taken.client.waitForEvents(after.length);
  await settle(taken.client);
  expect(ids(old.client.events())).toEqual(before);
  expect(ids(taken.client.events())).toEqual(after);

  // Long after the old connection's window, the session still belongs to the new one.
  await sleep(PAST_EVERY_TTL_MS);
  const later = await publishMany(publishUrl, channel, 2);
  await taken.client.waitForEvents(after.length + later.length);
  taken.client.drop();
  const again = await hello(newUrl, resumeFrame(token, old.welcome, channel, lastId(later)));
  expect(again.welcome).toMatchObject({ sessionId: old.welcome.sessionId, resumed: true, recovered: true });
  const last = await publishMany(publishUrl, channel, 2);
  await again.client.waitForEvents(last.length);
  await settle(again.client);
  expect(ids(again.client.events())).toEqual(last);
}

/** `takeOver` over each transport at once: the waits past every TTL overlap instead of adding up. */
async function overEachTransport(run: (transport: Transport) => Promise<void>): Promise<void> {
  await Promise.all(
    TRANSPORTS.map((transport) =>
      run(transport).catch((error: Error) => {
        error.message = `over ${transport}: ${error.message}`;
        throw error;
      }),
    ),
  );
}

describe('resuming a session that is still attached, over each transport', () => {
  it('on the same gateway: the old connection gets 1012, the session lives on', async () => {
    const gw = await gateway({});
    await overEachTransport((transport) =>
      takeOver(endpoint(gw, transport), endpoint(gw, transport), gw.http),
    );
  });

  it('on another gateway: the old process closes its connection, the session lives on', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    await overEachTransport((transport) => takeOver(endpoint(a, transport), endpoint(b, transport), a.http));
  });
});

describe('resumes of one session racing on two gateways (a client that resumed twice at once)', () => {
  it('leave one connection live, the one whose takeover came last; the others are closed 1012', async () => {
    const a = await gateway({ NODE_ID: 'race-a' });
    const b = await gateway({ NODE_ID: 'race-b', REDIS_PREFIX: a.prefix });
    const redis = connectTestRedis();
    try {
      for (let round = 0; round < 8; round++) {
        const token = await mintToken({ sub: `racer-${round}` });
        const first = await hello(a.url, { token });
        first.client.drop();
        const resume = { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken };
        // Sent at once, two to each process: each takeover replaces whichever came before it.
        const racers = await Promise.all(
          [a.url, b.url, a.url, b.url].map(async (url) => {
            const client = await TestClient.connect(url);
            clients.push(client);
            return client;
          }),
        );
        for (const client of racers) client.send({ type: 'hello', token, resume });
        // Retired: told SERVICE_RESTART (its close follows).
        const retired = (client: TestClient) =>
          client.closed !== undefined ||
          client.frames.some((f) => f.type === 'error' && f.code === 'SERVICE_RESTART');
        const live = () => racers.filter((client) => !retired(client));
        await eventually(() => live().length <= 1, `round ${round}: one connection left`);
        await sleep(300); // nothing late retires the last one
        expect(live(), `round ${round}`).toHaveLength(1);
        const survivor = live()[0]?.frames.find((f): f is WelcomeFrame => f.type === 'welcome');
        expect(survivor).toMatchObject({ resumed: true });
        // The one Redis names as the session's connection: the last takeover.
        const owner = await redis.hget(`${a.prefix}:{s:${resume.sessionId}}`, 'connection_id');
        expect(owner, `round ${round}`).toBe(survivor?.connectionId);
        for (const client of racers.filter(retired))
          expect((await client.waitClosed(20_000)).code, `round ${round}`).toBe(1012);
      }
    } finally {
      await redis.quit();
    }
  });
});
