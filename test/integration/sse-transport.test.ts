/**
 * The SSE + POST fallback (issue 17, docs/protocol.md §1.1) keeps the WebSocket's
 * guarantees: the integration tests that prove resume, limits and errors run their cases
 * over both transports (`describe.each(TRANSPORTS)`, as centrifuge-js does); here, what is
 * the fallback's own — a session moves between transports and processes, with
 * `Last-Event-ID` as its positions, a silent stream is dropped, POSTs are relayed.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MISSING_POST_WAIT_MS } from '../../src/edge/sse/sse-inbound.ts';
import { postBodyLimit } from '../../src/edge/sse/sse-messages.ts';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { lastId, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { RawSseStream } from '../support/raw-sse-stream.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

async function session(
  url: string,
  hello: Record<string, unknown>,
  headers: Record<string, string> = {},
  sseFetch?: typeof fetch,
) {
  const client = await TestClient.connect(url, headers, { sseFetch });
  clients.push(client);
  client.send({ type: 'hello', ...hello });
  const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
  return { client, welcome };
}

async function subscribe(client: TestClient, channel: string): Promise<void> {
  client.send({ type: 'subscribe', channel, ref: `sub-${channel}` });
  await client.next((f) => f.type === 'subscribed' && f.ref === `sub-${channel}`);
}

const resumeHello = (token: string, welcome: WelcomeFrame, lastEventIds?: Record<string, string>) => ({
  token,
  resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastEventIds },
});

async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !(await done()); await sleep(50))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

const newChannel = () => `sse:${randomUUID().slice(0, 8)}`;

/** The `ts` of every pong the stream carried, in order. */
/** A raw stream whose hello went as POST 1 (`tether-seq: 1`) and was welcomed. */
async function welcomedAfterPost1(gw: TestGateway, sub: string): Promise<RawSseStream> {
  const stream = await RawSseStream.open(gw.sseUrl);
  await stream.next((m) => m.event === 'open');
  const hello = { type: 'hello', token: await mintToken({ sub }) };
  expect((await stream.post([hello], { 'tether-seq': '1' })).status).toBe(204);
  await stream.frame('welcome');
  return stream;
}

const pongs = (stream: RawSseStream) =>
  stream.messages
    .filter((m) => m.event === 'message' && m.data.includes('"pong"'))
    .map((m) => (JSON.parse(m.data) as { ts: number }).ts);

/** The stream's `event: close`, as the client reads why it ended. */
const closeEvent = async (stream: RawSseStream) =>
  JSON.parse((await stream.next((m) => m.event === 'close')).data) as { code: number; reason: string };

// Resume, limits and error codes run over both transports in the files that prove them
// (resume.test.ts, bad-input.test.ts, rate-limits.test.ts, session-lifetime.test.ts, …).
describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  it('a burst of frames larger together than a POST may carry is sent, in order, with nothing refused', async () => {
    // Over SSE, frames sent while a POST is in flight wait for the next one: 2,000 publishes of
    // about 170 bytes are 340 KB, more than one POST may carry (4 × 64 KiB, told in `open`).
    const gw = await gateway({ MESSAGES_PER_SECOND: '0' });
    const { client } = await session(endpoint(gw, transport), { token: await mintToken() });
    const channel = newChannel();
    await subscribe(client, channel);
    const sent = Array.from({ length: 2000 }, (_, n) => `${n}:`.padEnd(120, 'x'));
    for (const data of sent) client.send({ type: 'publish', channel, data });
    await client.waitForEvents(sent.length, channel, 30_000);
    expect(client.events(channel).map((e) => e.data)).toEqual(sent);
    expect(client.closed).toBeUndefined();
  });

  it('a draining gateway closes the connection with SERVICE_RESTART (1012), resumable', async () => {
    const gw = await startTestGateway();
    const { client } = await session(endpoint(gw, transport), { token: await mintToken() });
    const stopping = gw.stop();
    const error = await client.next((f): f is ErrorFrame => f.type === 'error', 10_000);
    expect(error).toMatchObject({ code: 'SERVICE_RESTART', retryable: true });
    expect((await client.waitClosed(10_000)).code).toBe(1012);
    await stopping;
  });
});

describe('between transports and processes', () => {
  it('a session made on WebSocket resumes over SSE on another process with nothing lost', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    const channel = newChannel();
    const token = await mintToken({ sub: 'traveller' });
    const first = await session(a.url, { token });
    await subscribe(first.client, channel);
    const before = await publishMany(a.http, channel, 5);
    await first.client.waitForEvents(5);

    first.client.drop();
    const during = await publishMany(a.http, channel, 100);
    const second = await session(b.sseUrl, resumeHello(token, first.welcome, { [channel]: lastId(before) }));
    expect(second.welcome).toMatchObject({
      sessionId: first.welcome.sessionId,
      resumed: true,
      recovered: true,
    });
    const after = await publishMany(a.http, channel, 5);
    await second.client.waitForEvents(105);
    await settle(second.client);
    expect(ids(second.client.events())).toEqual([...during, ...after]);
  });

  it("an SSE reconnect's Last-Event-ID resumes every channel where the hello names none", async () => {
    const gw = await gateway();
    const [one, two] = [newChannel(), newChannel()];
    const token = await mintToken({ sub: 'eventsource' });
    const first = await session(gw.sseUrl, { token });
    await subscribe(first.client, one);
    await subscribe(first.client, two);
    const seen = [...(await publishMany(gw.http, one, 3)), ...(await publishMany(gw.http, two, 3))];
    await first.client.waitForEvents(6);
    const lastEventId = (first.client.ws as unknown as { socket: { lastEventId: string } }).socket
      .lastEventId;
    expect(JSON.parse(lastEventId)).toEqual({ [one]: seen[2], [two]: seen[5] });

    first.client.drop();
    const missedOne = await publishMany(gw.http, one, 4);
    const missedTwo = await publishMany(gw.http, two, 4);
    const second = await session(gw.sseUrl, resumeHello(token, first.welcome), {
      'last-event-id': lastEventId,
    });
    expect(second.welcome).toMatchObject({ resumed: true, recovered: true });
    await second.client.waitForEvents(8);
    await settle(second.client);
    expect(ids(second.client.events(one))).toEqual(missedOne);
    expect(ids(second.client.events(two))).toEqual(missedTwo);
  });

  it('the id holds the channels the session holds, not every one the stream delivered; a bad Last-Event-ID entry is ignored', async () => {
    const gw = await gateway();
    const token = await mintToken({ sub: 'wanderer' });
    const first = await session(gw.sseUrl, { token });
    const lastEventId = () =>
      JSON.parse((first.client.ws as unknown as { socket: { lastEventId: string } }).socket.lastEventId);
    const kept = newChannel();
    await subscribe(first.client, kept);
    const keptSeen = await publishMany(gw.http, kept, 1);
    for (let n = 0; n < 5; n++) {
      const passing = newChannel();
      await subscribe(first.client, passing);
      await publishMany(gw.http, passing, 1);
      await first.client.waitForEvents(n + 2);
      first.client.send({ type: 'unsubscribe', ref: `u${n}`, channel: passing });
      await first.client.next((f) => f.type === 'unsubscribed' && f.ref === `u${n}`);
    }
    const last = await publishMany(gw.http, kept, 1);
    await first.client.waitForEvents(7);
    expect(lastEventId()).toEqual({ [kept]: last[0] });
    expect(keptSeen).toHaveLength(1);

    first.client.drop();
    const missed = await publishMany(gw.http, kept, 2);
    // An entry the gateway never wrote (not an event ID) is ignored, not refused as the hello's.
    const header = JSON.stringify({ ...lastEventId(), 'room:x': 'bad' });
    const second = await session(gw.sseUrl, resumeHello(token, first.welcome), { 'last-event-id': header });
    expect(second.welcome).toMatchObject({ resumed: true, recovered: true });
    await second.client.waitForEvents(2);
    await settle(second.client);
    expect(ids(second.client.events(kept))).toEqual(missed);
  });

  it('a Last-Event-ID that makes the hello longer than a frame may be does not refuse it: the size is what the client sent', async () => {
    const gw = await gateway();
    const token = await mintToken({ sub: 'many-channels' });
    const first = await session(gw.sseUrl, { token });
    const channel = newChannel();
    await subscribe(first.client, channel);
    const [seen] = await publishMany(gw.http, channel, 1);
    await first.client.waitForEvents(1);
    first.client.drop();
    // 500 positions of channels with long names (up to 512 may be held): ~67 KB, over the 64 KiB a frame may be.
    const positions: Record<string, string> = { [channel]: seen as string };
    for (let n = 0; n < 500; n++) positions[`${'long'.repeat(30)}:${String(n).padStart(4, '0')}`] = '1-0';
    const header = JSON.stringify(positions);
    expect(header.length).toBeGreaterThan(65_536);
    const missed = await publishMany(gw.http, channel, 2);
    const second = await session(gw.sseUrl, resumeHello(token, first.welcome), { 'last-event-id': header });
    expect(second.welcome).toMatchObject({ resumed: true, recovered: true });
    await second.client.waitForEvents(2);
    expect(ids(second.client.events(channel))).toEqual(missed);
  });

  it('a hello refused on a stream opened with Last-Event-ID leaves the corrected one resuming from it', async () => {
    const gw = await gateway();
    const channel = newChannel();
    const token = await mintToken({ sub: 'second-try' });
    const first = await session(gw.sseUrl, { token });
    await subscribe(first.client, channel);
    await publishMany(gw.http, channel, 3);
    await first.client.waitForEvents(3);
    const lastEventId = (first.client.ws as unknown as { socket: { lastEventId: string } }).socket
      .lastEventId;
    first.client.drop();
    const missed = await publishMany(gw.http, channel, 2);

    const client = await TestClient.connect(gw.sseUrl, { 'last-event-id': lastEventId });
    clients.push(client);
    client.send({ type: 'hello', ...resumeHello(token, first.welcome), correlationId: 'not an id' });
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'MALFORMED_MESSAGE' });
    client.send({ type: 'hello', ...resumeHello(token, first.welcome) });
    expect(await client.next((f) => f.type === 'welcome')).toMatchObject({ resumed: true, recovered: true });
    await client.waitForEvents(2);
    await settle(client);
    expect(ids(client.events(channel))).toEqual(missed);
  });

  it('an SSE client silent past HEARTBEAT_IDLE_TIMEOUT_S is dropped (1006) and can resume; one that pings stays', async () => {
    const gw = await gateway({ HEARTBEAT_IDLE_TIMEOUT_S: '8' });
    const token = await mintToken({ sub: 'quiet' });
    // A client that keeps nothing heard: the SDK's empty keep-alive POSTs never leave it.
    const silent: typeof fetch = (input, init) =>
      init?.method === 'POST' && init.body === '' ? new Promise<Response>(() => {}) : fetch(input, init);
    const quiet = await session(gw.sseUrl, { token }, {}, silent);
    const talker = await session(gw.sseUrl, { token: await mintToken({ sub: 'talker' }) });
    const pinging = setInterval(() => talker.client.send({ type: 'ping', ts: Date.now() }), 2000);
    try {
      expect((await quiet.client.waitClosed(15_000)).code).toBe(1006);
    } finally {
      clearInterval(pinging);
    }
    expect(talker.client.closed).toBeUndefined();
    const again = await session(gw.sseUrl, resumeHello(token, quiet.welcome));
    expect(again.welcome).toMatchObject({ sessionId: quiet.welcome.sessionId, resumed: true });
  }, 30_000);

  it("POSTs that reach another process (a shared port) are relayed to the stream's, in order", async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    // Every other POST lands on B, as SO_REUSEPORT spreads new connections between processes.
    let posts = 0;
    const spread: typeof fetch = (input, init) => {
      const url = String(input);
      const elsewhere = init?.method === 'POST' && posts++ % 2 === 1;
      return fetch(elsewhere ? url.replace(a.sseUrl, b.sseUrl) : url, init);
    };
    const client = await TestClient.connect(a.sseUrl, {}, { sseFetch: spread });
    clients.push(client);
    client.send({ type: 'hello', token: await mintToken({ sub: 'spread' }) });
    await client.next((f) => f.type === 'welcome');
    const channel = newChannel();
    await subscribe(client, channel);
    for (let n = 0; n < 60; n++) client.send({ type: 'publish', ref: `p${n}`, channel, data: { n } });
    await client.waitForEvents(60);
    // No order between an ack and its own event (docs/protocol.md): the acks may trail.
    const acked = () => client.frames.filter((f) => f.type === 'ack').map((f) => (f as { ref: string }).ref);
    await until(async () => acked().length >= 60, 'every publish acknowledged');
    const acks = acked();
    expect(acks).toEqual(Array.from({ length: 60 }, (_, n) => `p${n}`));
    expect(client.events(channel).map((e) => (e.data as { n: number }).n)).toEqual(
      Array.from({ length: 60 }, (_, n) => n),
    );
    expect(posts).toBeGreaterThan(3); // some went by way of B
  });

  it('a POST that reaches another process answers for the stream: 404 once it is gone, and one too large closes it', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    const stream = await RawSseStream.open(a.sseUrl);
    await stream.next((m) => m.event === 'open');
    // Every POST here lands on B, as SO_REUSEPORT may send it there.
    const viaB = (body: string) =>
      fetch(`${b.sseUrl}/frames`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'tether-connection': stream.connection },
        body,
      });
    const hello = await viaB(JSON.stringify({ type: 'hello', token: await mintToken({ sub: 'relayed' }) }));
    expect(hello.status).toBe(204);
    await stream.frame('welcome');

    const tooLarge = await viaB('x'.repeat(postBodyLimit(65_536) + 1));
    expect(tooLarge.status).toBe(413);
    // Closed on A as a local POST over the limit closes it: a coded frame, then the end.
    expect(await stream.frame('error')).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await stream.closed();

    const late = await viaB(JSON.stringify({ type: 'ping', ts: 1 }));
    expect(late.status, 'frames for a stream no process holds are not taken').toBe(404);
    expect(await late.json()).toMatchObject({ error: 'SSE_CONNECTION_UNKNOWN' });
  });

  it('numbered POSTs are handled in their order wherever they land; one too far ahead is refused and closes the stream, coded', async () => {
    const a = await gateway({ NODE_ID: 'gw-a' });
    const b = await gateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix });
    const stream = await RawSseStream.open(a.sseUrl);
    await stream.next((m) => m.event === 'open');
    // POST to A or to B, as SO_REUSEPORT may send each one.
    const post = (via: TestGateway, seq: number, frame: unknown) =>
      fetch(`${via.sseUrl}/frames`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          'tether-connection': stream.connection,
          'tether-seq': String(seq),
        },
        body: JSON.stringify(frame),
      });
    expect((await post(a, 1, { type: 'hello', token: await mintToken({ sub: 'numbered' }) })).status).toBe(
      204,
    );
    await stream.frame('welcome');

    // POST 3 comes (by way of B) before POST 2: held, then both handled in order.
    expect((await post(b, 3, { type: 'ping', ts: 3 })).status).toBe(204);
    expect((await post(a, 2, { type: 'ping', ts: 2 })).status).toBe(204);
    await stream.frame('pong');
    await until(async () => pongs(stream).length === 2, 'both pongs');
    expect(pongs(stream)).toEqual([2, 3]);

    // POST 40 while 4 has not come: more than 31 ahead, it can never be put in order.
    const refused = await post(b, 40, { type: 'ping', ts: 40 });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'SSE_POST_MISSING' });
    expect(await stream.frame('error')).toMatchObject({
      code: 'SSE_POST_MISSING',
      retryable: true,
      detail: expect.stringContaining('POST 4 had not'),
    });
    expect(await closeEvent(stream)).toEqual({ code: 4012, reason: 'SSE_POST_MISSING' });
    await stream.closed();
    expect(pongs(stream)).toEqual([2, 3]);
  });

  it('POSTs held for a missing one that never comes close the stream with SSE_POST_MISSING, unhandled', async () => {
    const stream = await welcomedAfterPost1(await gateway(), 'gap');
    expect((await stream.post([{ type: 'ping', ts: 3 }], { 'tether-seq': '3' })).status).toBe(204);
    const heldAt = Date.now();
    expect(await stream.frame('error')).toMatchObject({
      code: 'SSE_POST_MISSING',
      detail: expect.stringContaining('POST 2 did not come'),
    });
    expect(Date.now() - heldAt).toBeGreaterThanOrEqual(MISSING_POST_WAIT_MS - 100);
    expect(await closeEvent(stream)).toEqual({ code: 4012, reason: 'SSE_POST_MISSING' });
    expect(pongs(stream), 'the POST held behind the gap was never handled').toEqual([]);
  }, 20_000);

  it('a tether-seq that is not a positive integer is 400 MALFORMED_MESSAGE, the POST unhandled, the stream open', async () => {
    const stream = await welcomedAfterPost1(await gateway(), 'numbered');
    for (const seq of ['abc', '-5', '0', '2.5', '99999999999999999999']) {
      const refused = await stream.post([{ type: 'ping', ts: 7 }], { 'tether-seq': seq });
      expect(refused.status, seq).toBe(400);
      expect(await refused.json()).toMatchObject({
        error: 'MALFORMED_MESSAGE',
        message: expect.stringContaining('tether-seq must be a positive integer'),
      });
    }
    expect((await stream.post([{ type: 'ping', ts: 8 }], { 'tether-seq': '2' })).status).toBe(204);
    await stream.frame('pong');
    expect(pongs(stream), 'only the well-numbered ping was handled').toEqual([8]);
  });

  it('/health/websocket counts the connections on the SSE fallback', async () => {
    const gw = await gateway();
    await session(gw.url, { token: await mintToken({ sub: 'on-ws' }) });
    const onSse = await session(gw.sseUrl, { token: await mintToken({ sub: 'on-sse' }) });
    const health = async () => {
      const response = await fetch(`${gw.http}/health/websocket`, {
        headers: { authorization: 'Bearer test-admin-key-0123456789' },
      });
      return ((await response.json()) as { connections: { sockets: number; sseStreams: number } })
        .connections;
    };
    expect(await health()).toMatchObject({ sockets: 2, sseStreams: 1 });
    onSse.client.close();
    await onSse.client.waitClosed();
    await until(async () => (await health()).sseStreams === 0, 'the stream gone from the report');
  });

  it('a POST naming no open stream is refused with SSE_CONNECTION_UNKNOWN (404)', async () => {
    const gw = await gateway();
    const response = await fetch(`${gw.sseUrl}/frames`, {
      method: 'POST',
      headers: { 'tether-connection': 'no-such-stream' },
      body: JSON.stringify({ type: 'ping', ts: 1 }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'SSE_CONNECTION_UNKNOWN' });
  });
});
