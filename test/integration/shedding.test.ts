/**
 * Load shedding under real pressure (issue 3, "Tests"): the test blocks the event
 * loop of its own process — where the in-process gateway runs — past
 * SHED_EVENT_LOOP_LAG_MS sample after sample, so the pool goes `shedding` and closes
 * the lowest tier first with LOAD_SHED / 1013 + retryAfterMs; then it accepts again,
 * and the shed clients resume and get every event published meanwhile, once, in
 * order. A connection admitted but not yet welcomed is never shed. One stall alone,
 * however long, sheds nobody: newcomers wait, then it accepts again. The members
 * alternate between the two transports (WebSocket and the SSE fallback, issue 17) on
 * one gateway: shedding must pick by tier alone, and a shed SSE stream resume as
 * losslessly — at the cost of one run.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, PublishLoop, settle } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CHANNEL = 'shed:room';
/** Longer than SHED_EVENT_LOOP_LAG_MS and more than one sample period. */
const BLOCK_MS = 1200;

let gw: TestGateway | undefined;
let loop: PublishLoop | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  await loop?.stop().catch(() => {});
  loop = undefined;
  for (const client of clients.splice(0)) client.drop();
  await gw?.stop();
  gw = undefined;
});

interface Member {
  sub: string;
  url: string;
  tier: string;
  token: string;
  client: TestClient;
  welcome: WelcomeFrame;
}

async function member(url: string, sub: string, tier: string): Promise<Member> {
  const token = await mintToken({ sub, tier });
  const { client, welcome } = await TestClient.session(url, { token });
  clients.push(client);
  client.send({ type: 'subscribe', channel: CHANNEL, ref: 'sub' });
  await client.next((f) => f.type === 'subscribed');
  return { sub, url, tier, token, client, welcome };
}

/** Real event-loop lag: nothing else in this process runs meanwhile, the gateway included. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: this is the pressure under test
  }
}

/**
 * Sustained lag: the loop blocked past SHED_EVENT_LOOP_LAG_MS again and again, the sampler
 * running between blocks, until the pool sheds (bounded).
 */
async function overloadUntilShedding(g: TestGateway): Promise<void> {
  for (let block = 0; g.gateway.core.supervisor.poolState() !== 'shedding'; block++) {
    if (block === 20) throw new Error('20 blocks of the event loop and the pool never shed');
    blockEventLoop(BLOCK_MS);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the overdue sample runs first
  }
}

const shedNow = (members: Member[]) => members.filter((m) => m.client.closed !== undefined);

async function metric(g: TestGateway, name: string): Promise<number> {
  const text = await (await fetch(`${g.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), name);
}

describe('load shedding', () => {
  it('sheds the lowest tier first with LOAD_SHED/1013, accepts again, and shed clients resume without loss', async () => {
    gw = await startTestGateway({
      RESOURCE_SAMPLE_MS: '100',
      // High enough that a busy shared box does not shed on its own before the test blocks.
      SATURATE_EVENT_LOOP_LAG_MS: '450',
      SHED_EVENT_LOOP_LAG_MS: '500',
      // 10 connections × 0.2 = 2 shed on the first critical sample, 8 × 0.2 = 1 on the next.
      SHED_BATCH_RATIO: '0.2',
    });
    const tiers = [
      'pro',
      'free',
      'enterprise',
      'standard',
      'free',
      'pro',
      'standard',
      'enterprise',
      'pro',
      'standard',
    ];
    const members: Member[] = [];
    // Even ones on WebSocket, odd ones on SSE: one free client of each is shed first, then u9 (SSE).
    const transportOf = (i: number) => TRANSPORTS[i % 2] as Transport;
    for (const [i, tier] of tiers.entries())
      members.push(await member(endpoint(gw, transportOf(i)), `u${i}-${tier}`, tier));
    expect(gw.gateway.core.supervisor.poolState()).toBe('accepting');
    const shedBefore = await metric(gw, 'tether_shed_total');

    const publisher = new PublishLoop(() => (gw as TestGateway).http, CHANNEL, { pauseMs: 5 });
    loop = publisher;
    await Promise.all(members.map((m) => m.client.waitForEvents(3)));

    await overloadUntilShedding(gw);
    await eventually(() => shedNow(members).length >= 2, 'the first shed');
    // One critical sample: both free clients, nobody else.
    expect(shedNow(members).map((m) => m.tier)).toEqual(['free', 'free']);
    for (const { client, welcome } of shedNow(members)) {
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({
        code: 'LOAD_SHED',
        retryable: true,
        correlationId: welcome.correlationId,
      });
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(client.closed?.code).toBe(1013);
    }
    await eventually(() => gw?.gateway.core.supervisor.poolState() === 'accepting', 'accepting again');

    // Pressure again: the next lowest tier goes, the newest of it first.
    await overloadUntilShedding(gw);
    await eventually(() => shedNow(members).length >= 3, 'the second shed');
    const third = shedNow(members).filter((m) => m.tier !== 'free');
    expect(third.map((m) => m.sub)).toEqual(['u9-standard']);
    await eventually(() => gw?.gateway.core.supervisor.poolState() === 'accepting', 'accepting again');
    expect(await metric(gw, 'tether_shed_total')).toBe(shedBefore + 3);

    // Accepting means a newcomer is welcomed at once, without a queued frame.
    const newcomer = await member(gw.url, 'newcomer', 'free');
    expect(newcomer.client.frames.some((f) => f.type === 'queued')).toBe(false);

    // The shed resume where they left off while the backend keeps publishing.
    const resumed = [];
    for (const shed of shedNow(members)) {
      const seen = ids(shed.client.events(CHANNEL));
      const session = await TestClient.session(shed.url, {
        token: shed.token,
        resume: {
          sessionId: shed.welcome.sessionId,
          resumeToken: shed.welcome.resumeToken,
          lastEventIds: { [CHANNEL]: seen.at(-1) as string },
        },
      });
      clients.push(session.client);
      expect(session.welcome).toMatchObject({ resumed: true, recovered: true });
      resumed.push({ seen, client: session.client });
    }
    const target = publisher.ids.length + 10;
    await eventually(() => publisher.ids.length >= target, 'events published after the resume');
    const published = await publisher.stop();
    loop = undefined;
    for (const { seen, client } of resumed) {
      await client.waitForEvents(published.length - seen.length, CHANNEL);
      await settle(client);
      expect([...seen, ...ids(client.events(CHANNEL))]).toEqual(published);
    }
    // Those never shed got everything on their first connection.
    for (const m of members.filter((m) => m.client.closed === undefined)) {
      await m.client.waitForEvents(published.length, CHANNEL);
      await settle(m.client);
      expect(ids(m.client.events(CHANNEL))).toEqual(published);
    }
  });
});

describe('one stall is not overload', () => {
  it('a single long block of the event loop saturates the pool and sheds nobody; then it accepts again', async () => {
    gw = await startTestGateway({
      RESOURCE_SAMPLE_MS: '100',
      SATURATE_EVENT_LOOP_LAG_MS: '450',
      SHED_EVENT_LOOP_LAG_MS: '500',
      SHED_BATCH_RATIO: '0.5',
    });
    const members: Member[] = [];
    for (const tier of ['free', 'standard', 'pro']) members.push(await member(gw.url, `s-${tier}`, tier));
    const { supervisor } = gw.gateway.core;
    const states: string[] = [];
    const watching = supervisor.pool.subscribe((snapshot) => states.push(String(snapshot.value)));
    try {
      // A major GC, a process descheduled on a busy box: one stall, four times the shed threshold.
      blockEventLoop(2000);
      await eventually(() => states.includes('saturated') || states.includes('shedding'), 'the stall seen');
      await eventually(() => supervisor.poolState() === 'accepting', 'accepting again');
    } finally {
      watching.unsubscribe();
    }
    expect(states).not.toContain('shedding');
    expect(shedNow(members)).toEqual([]);
    const newcomer = await member(gw.url, 's-newcomer', 'free');
    expect(newcomer.client.frames.some((f) => f.type === 'queued')).toBe(false);
  });
});

describe('only welcomed connections are shed', () => {
  it('one admitted but still before its welcome is left alone and welcomed afterwards; a welcomed one goes instead', async () => {
    // A private Redis: its writes are paused below, which must not stall other test files.
    const redisServer = await startRedisServer();
    const pauser = new Redis(redisServer.url);
    try {
      gw = await startTestGateway({
        REDIS_URL: redisServer.url,
        RESOURCE_SAMPLE_MS: '100',
        SATURATE_EVENT_LOOP_LAG_MS: '450',
        SHED_EVENT_LOOP_LAG_MS: '500',
        SHED_BATCH_RATIO: '0.01', // one per critical sample
        // No limit writes to Redis before admission: the newcomer is held only by its session write.
        RATE_CONNECT_PER_IP: '0',
        RATE_CONNECT_PER_USER: '0',
        MAX_CONNECTIONS_PER_IP: '0',
        MAX_CONNECTIONS_PER_USER: '0',
      });
      const members: Member[] = [];
      for (const tier of ['enterprise', 'pro', 'standard']) {
        const token = await mintToken({ sub: `w-${tier}`, tier });
        const { client, welcome } = await TestClient.session(gw.url, { token });
        clients.push(client);
        members.push({ sub: `w-${tier}`, url: gw.url, tier, token, client, welcome });
      }

      // The lowest tier, newest of all: admitted at once, but its session cannot be written yet.
      const newcomer = await TestClient.connect(gw.url);
      clients.push(newcomer);
      await pauser.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      newcomer.send({ type: 'hello', token: await mintToken({ sub: 'newcomer', tier: 'free' }) });
      const { core } = (gw as TestGateway).gateway;
      const admittedNotWelcomed = () =>
        [...core.connections.values()].some((c) => core.supervisor.holdsSlot(c.id) && !c.welcomed);
      await eventually(admittedNotWelcomed, 'admitted, not welcomed');

      await overloadUntilShedding(gw);
      await eventually(() => shedNow(members).length >= 1, 'a shed');
      expect(shedNow(members)[0]?.tier).toBe('standard');
      expect(newcomer.closed).toBeUndefined();
      expect(newcomer.frames.some((f) => f.type === 'error')).toBe(false);

      await pauser.call('CLIENT', 'UNPAUSE');
      expect(await newcomer.next((f) => f.type === 'welcome')).toMatchObject({ userId: 'newcomer' });
      await eventually(() => gw?.gateway.core.supervisor.poolState() === 'accepting', 'accepting again');
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE').catch(() => {});
      pauser.disconnect();
      for (const client of clients.splice(0)) client.drop();
      await gw?.stop();
      gw = undefined;
      await redisServer.stop();
    }
  });
});
