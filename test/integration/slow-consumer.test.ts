/**
 * A slow consumer (issue 3, "Tests"): a client that stops reading while its
 * channel is flooded is closed by the gateway with 4008 SLOW_CONSUMER instead of
 * being buffered without bound — the server's outbound buffer never passes uWS's
 * hard limit (src/core/slow-consumers.ts) — while a reading client on the same
 * channel misses nothing; the slow client then resumes and gets every event
 * exactly once, in order.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { edgeBackpressureLimit } from '../../src/core/slow-consumers.ts';
import { compareEventIds } from '../../src/shared/frames.ts';
import { eventually, inBatches, settle, sleep } from '../support/events.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { pauseReading, resumeReading } from '../support/pause-reading.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CHANNEL = 'firehose';
const MAX_BACKPRESSURE = 1_048_576;
/** ~16 KB per event: a few hundred fill the kernel's socket buffers and then the gateway's. */
const PAD = 'x'.repeat(16_000);
/** Bound on the flood: far more than loopback socket buffers hold. */
const MAX_EVENTS = 4000;

let gw: TestGateway | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await gw?.stop();
  gw = undefined;
});

async function subscriber(url: string, sub: string) {
  const token = await mintToken({ sub });
  const session = await TestClient.session(url, { token });
  clients.push(session.client);
  session.client.send({ type: 'subscribe', channel: CHANNEL, ref: 'sub' });
  await session.client.next((f) => f.type === 'subscribed');
  return { ...session, token };
}

/** Everything the gateway holds in outbound buffers right now. */
function serverBuffered(g: TestGateway): number {
  let total = 0;
  for (const conn of g.gateway.core.connections.values()) total += conn.socket?.getBufferedAmount() ?? 0;
  return total;
}

describe.each(TRANSPORTS)('slow consumers over %s', (transport: Transport) => {
  it('is disconnected with bounded server memory, bystanders keep receiving, and it resumes without loss', async () => {
    gw = await startTestGateway({ MAX_BACKPRESSURE_BYTES: String(MAX_BACKPRESSURE) });
    const g = gw;
    const url = endpoint(g, transport);
    const slow = await subscriber(url, 'slow');
    const reader = await subscriber(url, 'reader');
    const slowConnection = slow.welcome.connectionId;

    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, serverBuffered(g));
    }, 5);
    const published: string[] = [];
    try {
      pauseReading(slow.client);
      // Flood until the gateway lets go of the slow socket (bounded), then a little more.
      let after = -1;
      for (let n = 0; n < MAX_EVENTS && (after < 0 || n < after + 50); n++) {
        published.push(await publishHttp(g.http, CHANNEL, { n, pad: PAD }));
        peak = Math.max(peak, serverBuffered(g));
        if (after < 0 && !g.gateway.core.connections.has(slowConnection)) after = n;
      }
      expect(after, 'the gateway never disconnected the slow consumer').toBeGreaterThanOrEqual(0);
    } finally {
      clearInterval(watch);
    }
    // Bounded: never more than uWS's hard limit for the one slow socket, plus a frame in flight.
    expect(peak).toBeLessThanOrEqual(edgeBackpressureLimit(MAX_BACKPRESSURE) + 2 * (PAD.length + 200));
    // Its session waits to be resumed, not thrown away.
    await eventually(
      () =>
        g.gateway.core.supervisor.sessionActor(slow.welcome.sessionId)?.getSnapshot().value ===
        'reconnecting',
      'the slow session in reconnecting',
    );

    // The reading client never noticed.
    await reader.client.waitForEvents(published.length, CHANNEL, 20_000);
    await settle(reader.client);
    expect(ids(reader.client.events(CHANNEL))).toEqual(published);
    expect(reader.client.closed).toBeUndefined();

    // The slow client reads what reached it, sees the close, and resumes from there.
    resumeReading(slow.client);
    // The coded close, after everything that was buffered for it: it knows why, and that it may resume.
    expect(await slow.client.waitClosed(10_000)).toEqual({ code: 4008, reason: 'SLOW_CONSUMER' });
    const got = ids(slow.client.events(CHANNEL));
    expect(got).toEqual(published.slice(0, got.length)); // a prefix: nothing skipped before the close
    const last = got.at(-1);
    expect(last).toBeDefined();

    const resumed = await TestClient.session(url, {
      token: slow.token,
      resume: {
        sessionId: slow.welcome.sessionId,
        resumeToken: slow.welcome.resumeToken,
        lastEventIds: { [CHANNEL]: last as string },
      },
    });
    clients.push(resumed.client);
    expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
    const missed = published.filter((id) => compareEventIds(id, last as string) > 0);
    await resumed.client.waitForEvents(missed.length, CHANNEL, 20_000);
    await settle(resumed.client);
    expect([...got, ...ids(resumed.client.events(CHANNEL))]).toEqual(published);
  });
});

describe.each(TRANSPORTS)('a replayed backlog over %s', (transport: Transport) => {
  it('is paced to the reader, never cut as slow at the smallest MAX_BACKPRESSURE_BYTES', async () => {
    // 40 KB events: a write of 64 KiB plus one of them passed the 64 KiB limit by itself.
    gw = await startTestGateway({ MAX_BACKPRESSURE_BYTES: '65536' });
    const backlog = 'backlog';
    const pad = 'y'.repeat(40_000);
    const published = await inBatches(200, 8, (n) => publishHttp(gw!.http, backlog, { n, pad }));
    const { client } = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'late' }),
    });
    clients.push(client);
    client.send({ type: 'subscribe', channel: backlog, ref: 'all', from: '0-0' });
    // A reader slower than the gateway writes: it reads in short bursts, so the kernel's
    // buffers stay full and the gateway's drain a little at a time.
    const deadline = Date.now() + 30_000;
    while (client.events(backlog).length < published.length && !client.closed && Date.now() < deadline) {
      pauseReading(client);
      await new Promise((resolve) => setTimeout(resolve, 20));
      resumeReading(client);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(ids(client.events(backlog))).toEqual(published);
    expect(client.closed).toBeUndefined();
  });
});

/** How often the gateway counted SLOW_CONSUMER (GET /metrics); the registry is the test process's. */
async function slowConsumerCount(g: TestGateway): Promise<number> {
  const metrics = await (await fetch(`${g.http}/metrics`)).text();
  const match = /tether_errors_total\{code="SLOW_CONSUMER",category="connection"\} (\d+)/.exec(metrics);
  return Number(match?.[1] ?? 0);
}

describe('a burst past the hard limit over sse', () => {
  it('still ends the stream with the coded close, counted, and the stream resumes without loss', async () => {
    // SSE streams see every write (no native fan-out): a burst that passes 4 × the limit
    // between two walks of the watch must still end in `event: close` 4008, not a cut.
    gw = await startTestGateway({ MAX_BACKPRESSURE_BYTES: '65536' });
    const g = gw;
    const url = endpoint(g, 'sse');
    const slow = await subscriber(url, 'burst');
    const conn = g.gateway.core.connections.get(slow.welcome.connectionId);
    const before = await slowConsumerCount(g);
    const pad = 'z'.repeat(60_000);
    const published: string[] = [];
    pauseReading(slow.client);
    // Fill the client's and the kernel's buffers first, one event at a time, until the
    // gateway still holds bytes a moment after the last one.
    const holding = async () => {
      await sleep(100);
      return (conn?.socket?.getBufferedAmount() ?? 0) > 0;
    };
    for (let n = 0; n < 400 && !slow.client.closed && !(await holding()); n++)
      published.push(await publishHttp(g.http, CHANNEL, { n, pad }));
    expect(conn?.socket?.getBufferedAmount()).toBeGreaterThan(0);
    expect(conn?.socket?.getBufferedAmount()).toBeLessThanOrEqual(65_536);
    // Then a burst: 24 × 60 KB at once, far past 4 × 64 KiB within a turn or two.
    published.push(
      ...(await Promise.all(Array.from({ length: 24 }, (_, k) => publishHttp(g.http, CHANNEL, { k, pad })))),
    );
    published.sort(compareEventIds);
    resumeReading(slow.client);
    expect(await slow.client.waitClosed(10_000)).toEqual({ code: 4008, reason: 'SLOW_CONSUMER' });
    expect(await slowConsumerCount(g)).toBe(before + 1);
    const got = ids(slow.client.events(CHANNEL));
    expect(got).toEqual(published.slice(0, got.length));

    const resumed = await TestClient.session(url, {
      token: slow.token,
      resume: {
        sessionId: slow.welcome.sessionId,
        resumeToken: slow.welcome.resumeToken,
        lastEventIds: { [CHANNEL]: got.at(-1) as string },
      },
    });
    clients.push(resumed.client);
    expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
    await resumed.client.waitForEvents(published.length - got.length, CHANNEL, 20_000);
    await settle(resumed.client);
    expect([...got, ...ids(resumed.client.events(CHANNEL))]).toEqual(published);
  });
});

describe('a slow stream that posts after the gateway let it go', () => {
  it('still reads the rest of its stream and learns 4008 SLOW_CONSUMER, not a lost connection', async () => {
    // The SDK's SSE link (under SseTestSocket) keeps posting while it reads a backlog: its
    // keep-alive, a ping, a publish. Once the gateway has closed the stream, such a POST is
    // answered 404 SSE_CONNECTION_UNKNOWN — but the stream's close event is still on its way.
    gw = await startTestGateway({ MAX_BACKPRESSURE_BYTES: String(MAX_BACKPRESSURE) });
    const g = gw;
    const url = endpoint(g, 'sse');
    const slow = await subscriber(url, 'poster');
    const published: string[] = [];
    pauseReading(slow.client);
    for (let n = 0; n < MAX_EVENTS && g.gateway.core.connections.has(slow.welcome.connectionId); n++)
      published.push(await publishHttp(g.http, CHANNEL, { n, pad: PAD }));
    expect(g.gateway.core.connections.has(slow.welcome.connectionId)).toBe(false);
    slow.client.send({ type: 'ping', ts: Date.now() });
    await sleep(500); // the POST's 404 has come back
    resumeReading(slow.client);
    expect(await slow.client.waitClosed(10_000)).toEqual({ code: 4008, reason: 'SLOW_CONSUMER' });
    const got = ids(slow.client.events(CHANNEL));
    // Everything it was sent before the close, not just what it had read when the POST came back.
    expect(got).toEqual(published.slice(0, got.length));
    expect(got.length).toBeGreaterThan(0);
  });
});
