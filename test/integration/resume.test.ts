/**
 * Lossless resume (issue 2, "Tests"): events published while a client is away
 * arrive after resume exactly once, in order — on the same gateway, on a second
 * gateway sharing Redis (both over WebSocket and over the SSE fallback, issue 17),
 * and on a gateway process restarted after SIGKILL; the resume handshake holds on both.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded-redis.ts';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import { lastId, PublishLoop, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const DISCONNECT_MS = 2000;

const gateways: TestGateway[] = [];
const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

/** A session subscribed to `channel`, tracked for cleanup. */
async function subscribed(url: string, token: string, channel: string) {
  const session = await TestClient.session(url, { token });
  clients.push(session.client);
  session.client.send({ type: 'subscribe', channel, ref: 'sub' });
  await session.client.next((f) => f.type === 'subscribed' && f.ref === 'sub');
  return session;
}

async function resume(
  url: string,
  token: string,
  welcome: WelcomeFrame,
  lastEventIds: Record<string, string>,
) {
  const session = await TestClient.session(url, {
    token,
    resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastEventIds },
  });
  clients.push(session.client);
  return session;
}

/** A client whose resume hello is sent and not yet answered: what it sends now goes behind it. */
async function sentResumeHello(
  url: string,
  token: string,
  welcome: WelcomeFrame,
  lastEventIds: Record<string, string>,
): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({
    type: 'hello',
    token,
    resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastEventIds },
  });
  return client;
}

const newChannel = () => `resume:${randomUUID().slice(0, 8)}`;

/** The `subscribed` and `unsubscribed` frames of `channel`, in order, by ref (a resume's own has none). */
const answersOn = (client: TestClient, channel: string) =>
  client.frames
    .filter((f) => (f.type === 'subscribed' || f.type === 'unsubscribed') && f.channel === channel)
    .map((f) => `${f.type} ${(f as { ref?: string }).ref ?? '(resume)'}`);

describe.each(TRANSPORTS)('resume after a network drop, over %s', (transport: Transport) => {
  it('1000 events published during a 2 s disconnect arrive once, in order, on the same gateway', async () => {
    const gw = await gateway();
    const url = endpoint(gw, transport);
    const channel = newChannel();
    const token = await mintToken({ sub: 'resumer' });
    const first = await subscribed(url, token, channel);
    const before = await publishMany(gw.http, channel, 5);
    await first.client.waitForEvents(5);

    first.client.drop();
    const [during] = await Promise.all([publishMany(gw.http, channel, 1000), sleep(DISCONNECT_MS)]);

    const second = await resume(url, token, first.welcome, { [channel]: lastId(before) });
    expect(second.welcome).toMatchObject({
      sessionId: first.welcome.sessionId,
      resumed: true,
      recovered: true,
      channels: [{ channel, recovered: true, after: lastId(before) }],
    });
    await second.client.waitForEvents(1000);
    const after = await publishMany(gw.http, channel, 5); // live again after the replay
    await second.client.waitForEvents(1005);
    await settle(second.client);

    expect(ids(first.client.events())).toEqual(before);
    expect(ids(second.client.events())).toEqual([...during, ...after]);
  });

  it('the same when the client resumes on a second gateway sharing Redis, mid-stream', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    const channel = newChannel();
    const token = await mintToken({ sub: 'traveller' });
    // A bystander keeps B's reader live on the channel, so the resumed client's replay
    // must hand over to a delivery that is moving on at the same time.
    const bystander = await subscribed(b.url, await mintToken({ sub: 'bystander' }), channel);
    const first = await subscribed(endpoint(a, transport), token, channel);
    const before = await publishMany(a.http, channel, 5);
    await first.client.waitForEvents(5);

    first.client.drop();
    const [during] = await Promise.all([publishMany(a.http, channel, 1000), sleep(DISCONNECT_MS)]);

    const live = new PublishLoop(() => a.http, channel, { pauseMs: 1 });
    const second = await resume(endpoint(b, transport), token, first.welcome, { [channel]: lastId(before) });
    expect(second.welcome).toMatchObject({
      sessionId: first.welcome.sessionId,
      resumed: true,
      recovered: true,
    });
    await second.client.waitForEvents(1000);
    const after = await live.stop();
    await second.client.waitForEvents(1000 + after.length);
    await bystander.client.waitForEvents(1005 + after.length);
    await settle(second.client);
    await settle(bystander.client);

    expect(ids(first.client.events())).toEqual(before);
    expect(ids(second.client.events())).toEqual([...during, ...after]);
    expect(ids(bystander.client.events())).toEqual([...before, ...during, ...after]);
  });
});

// Over WebSocket only: client-sdk.test.ts takes a client of each transport through a SIGKILL.
describe('resume after the gateway process dies', () => {
  it(
    'SIGKILL mid-stream, restart on the same port: the client resumes there and misses nothing',
    async () => {
      const port = await freePort();
      const env = processEnv({ PORT: String(port) });
      const doomed = await spawnGateway(env);
      processes.push(doomed);
      // The backend publishes through another gateway sharing Redis: it outlives the kill.
      const backend = await gateway({ NODE_ID: 'backend', REDIS_PREFIX: env.REDIS_PREFIX as string });
      const channel = newChannel();
      const token = await mintToken({ sub: 'survivor' });
      const first = await subscribed(doomed.url, token, channel);

      const loop = new PublishLoop(() => backend.http, channel, { limit: 1000 });
      await first.client.waitForEvents(100);
      const exit = await doomed.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      await first.client.waitClosed();
      const received = ids(first.client.events());

      const restarted = await spawnGateway(env);
      processes.push(restarted);
      expect(restarted.port).toBe(port);
      const second = await resume(restarted.url, token, first.welcome, { [channel]: lastId(received) });
      expect(second.welcome).toMatchObject({
        sessionId: first.welcome.sessionId,
        resumed: true,
        recovered: true,
      });

      const published = await loop.finished();
      await second.client.waitForEvents(published.length - received.length);
      await settle(second.client);
      expect([...received, ...ids(second.client.events())]).toEqual(published);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe.each(TRANSPORTS)('the resume handshake, over %s', (transport: Transport) => {
  it('answers frames sent behind a resume hello first, in order, without waiting for the replay', async () => {
    const gw = await gateway();
    const channel = newChannel();
    const token = await mintToken({ sub: 'pipeliner' });
    const first = await subscribed(endpoint(gw, transport), token, channel);
    const before = await publishMany(gw.http, channel, 1);
    await first.client.waitForEvents(1);
    first.client.drop();
    await publishMany(gw.http, channel, 2000);

    const client = await sentResumeHello(endpoint(gw, transport), token, first.welcome, {
      [channel]: lastId(before),
    });
    client.send({ type: 'ping', ts: 1 }); // pipelined: held until welcome
    await client.next((f) => f.type === 'welcome');
    client.send({ type: 'ping', ts: 2 });
    await client.waitForEvents(2000);

    const order = client.frames.map((f) => (f.type === 'pong' ? `pong ${f.ts}` : f.type));
    expect(order.filter((t) => t.startsWith('pong'))).toEqual(['pong 1', 'pong 2']);
    expect(order.indexOf('pong 1')).toBeLessThan(order.lastIndexOf('event'));
  });

  it('keeps the session’s correlation ID across resumes, in welcome and in the actor', async () => {
    const gw = await gateway();
    const token = await mintToken({ sub: 'traced' });
    const first = await TestClient.session(endpoint(gw, transport), { token });
    clients.push(first.client);
    first.client.drop();
    await sleep(100);
    const second = await resume(endpoint(gw, transport), token, first.welcome, {});
    expect(second.welcome.resumed).toBe(true);
    expect(second.welcome.correlationId).toBe(first.welcome.correlationId);
    const actor = gw.gateway.core.supervisor.sessionActor(first.welcome.sessionId);
    expect(actor?.getSnapshot().context.correlationId).toBe(first.welcome.correlationId);

    // A client that names its own correlation ID keeps it.
    second.client.drop();
    await sleep(100);
    const third = await TestClient.session(endpoint(gw, transport), {
      token,
      correlationId: 'my-own-id',
      resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken },
    });
    clients.push(third.client);
    expect(third.welcome).toMatchObject({ resumed: true, correlationId: 'my-own-id' });
    expect(actor?.getSnapshot().context.correlationId).toBe('my-own-id');
  });

  it('an unsubscribe sent right behind a subscribe is answered after it, and takes the channel back', async () => {
    const gw = await gateway();
    const token = await mintToken({ sub: 'changed-mind' });
    const { client, welcome } = await TestClient.session(endpoint(gw, transport), { token });
    clients.push(client);
    const [fromStart, fromNow] = [newChannel(), newChannel()];
    await publishMany(gw.http, fromStart, 5);
    client.send({ type: 'subscribe', channel: fromStart, from: '0-0', ref: 's1' });
    client.send({ type: 'unsubscribe', channel: fromStart, ref: 'u1' });
    client.send({ type: 'subscribe', channel: fromNow, ref: 's2' });
    client.send({ type: 'unsubscribe', channel: fromNow, ref: 'u2' });
    await client.next((f) => f.type === 'unsubscribed' && f.ref === 'u2');
    await client.next((f) => f.type === 'unsubscribed' && f.ref === 'u1');
    expect(answersOn(client, fromStart)).toEqual(['subscribed s1', 'unsubscribed u1']);
    expect(answersOn(client, fromNow)).toEqual(['subscribed s2', 'unsubscribed u2']);

    // A replay under way may still finish (docs/protocol.md, unsubscribe); nothing live follows.
    const late = [...(await publishMany(gw.http, fromStart, 1)), ...(await publishMany(gw.http, fromNow, 1))];
    await settle(client);
    await sleep(200);
    expect(ids(client.events()).filter((id) => late.includes(id))).toEqual([]);
    expect(gw.gateway.channelsRead()).toBe(0);
    client.drop();
    await sleep(100);
    const back = await resume(endpoint(gw, transport), token, welcome, {});
    expect(back.welcome.channels.map((c) => c.channel)).toEqual([]);
  });

  it('a channel’s frames are answered in the order sent, and the last one decides whether it is held', async () => {
    const gw = await gateway();
    const token = await mintToken({ sub: 'twice-then-not' });
    const { client, welcome } = await TestClient.session(endpoint(gw, transport), { token });
    clients.push(client);
    const [dropped, kept] = [newChannel(), newChannel()];
    await publishMany(gw.http, dropped, 5);
    await publishMany(gw.http, kept, 5);
    // subscribe, subscribe, unsubscribe: not held. The same then subscribe again: held.
    for (const [ref, frame] of [
      ['a1', { type: 'subscribe', channel: dropped, from: '0-0' }],
      ['a2', { type: 'subscribe', channel: dropped }],
      ['a3', { type: 'unsubscribe', channel: dropped }],
      ['b1', { type: 'subscribe', channel: kept, from: '0-0' }],
      ['b2', { type: 'subscribe', channel: kept }],
      ['b3', { type: 'unsubscribe', channel: kept }],
      ['b4', { type: 'subscribe', channel: kept }],
    ] as const)
      client.send({ ...frame, ref });
    await client.next((f) => f.type === 'subscribed' && f.ref === 'b4');
    await client.next((f) => f.type === 'unsubscribed' && f.ref === 'a3');
    expect(answersOn(client, dropped)).toEqual(['subscribed a1', 'subscribed a2', 'unsubscribed a3']);
    expect(answersOn(client, kept)).toEqual([
      'subscribed b1',
      'subscribed b2',
      'unsubscribed b3',
      'subscribed b4',
    ]);

    const [lateDropped] = await publishMany(gw.http, dropped, 1);
    const [lateKept] = await publishMany(gw.http, kept, 1);
    await client.next((f) => f.type === 'event' && f.id === lateKept);
    expect(ids(client.events(dropped))).not.toContain(lateDropped);
    client.drop();
    await sleep(100);
    const back = await resume(endpoint(gw, transport), token, welcome, {});
    clients.push(back.client);
    expect(back.welcome.channels.map((c) => c.channel)).toEqual([kept]);
  });

  it('an unsubscribe sent behind a resume hello takes a resumed channel back', async () => {
    const gw = await gateway();
    const channel = newChannel();
    const token = await mintToken({ sub: 'resumed-then-left' });
    const first = await subscribed(endpoint(gw, transport), token, channel);
    const before = await publishMany(gw.http, channel, 3);
    await first.client.waitForEvents(3);
    first.client.drop();
    await publishMany(gw.http, channel, 5);

    const client = await sentResumeHello(endpoint(gw, transport), token, first.welcome, {
      [channel]: lastId(before),
    });
    client.send({ type: 'unsubscribe', channel, ref: 'u' });
    await client.next((f) => f.type === 'unsubscribed' && f.ref === 'u');
    // The resume's own `subscribed` first, then the unsubscribe's answer: in the order asked.
    expect(answersOn(client, channel)).toEqual(['subscribed (resume)', 'unsubscribed u']);
    const late = await publishMany(gw.http, channel, 1);
    await settle(client);
    await sleep(200);
    expect(ids(client.events()).filter((id) => late.includes(id))).toEqual([]);
    expect(gw.gateway.channelsRead()).toBe(0);
  });

  it('replays once for two subscribes from the same position, and stops reading when unsubscribed', async () => {
    const gw = await gateway();
    const channel = newChannel();
    const published = await publishMany(gw.http, channel, 20);
    const { client } = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'twice' }),
    });
    clients.push(client);
    client.send({ type: 'subscribe', channel, from: '0-0', ref: 'a' });
    client.send({ type: 'subscribe', channel, from: '0-0', ref: 'b' });
    await client.next((f) => f.type === 'subscribed' && f.ref === 'b');
    await settle(client);
    expect(ids(client.events(channel))).toEqual(published);
    expect(client.frames.filter((f) => f.type === 'subscribed').map((f) => f.ref)).toEqual(['a', 'b']);

    client.send({ type: 'unsubscribe', channel, ref: 'u' });
    await client.next((f) => f.type === 'unsubscribed');
    expect(gw.gateway.channelsRead()).toBe(0);
  });
});
