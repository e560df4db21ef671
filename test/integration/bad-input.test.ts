/**
 * Bad input (issue 2, "Tests"): each mistake gets its coded error frame — with
 * category, retryable and the connection's correlation ID — and a close where
 * the registry says so; meanwhile a bystander on the same gateway keeps receiving
 * a steady stream with nothing missing. Every case runs over both transports (the SSE
 * fallback, docs/protocol.md §1.1, keeps the same codes) but binary frames, which SSE has not.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCategory, ErrorCode } from '../../src/shared/errors.ts';
import type { ErrorFrame, ServerFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, PublishLoop, settle } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_SECRET,
  type TestGateway,
  type TokenClaims,
} from '../support/gateway.ts';
import { RawSseStream } from '../support/raw-sse-stream.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
let bystander: TestClient;
let stream: PublishLoop;
const streamChannel = `steady:${randomUUID().slice(0, 8)}`;
const opened: TestClient[] = [];

beforeAll(async () => {
  // Failed hellos are answered ever later (AUTH_FAILURES_PER_IP, rate-limits.test.ts): off here,
  // or the cases of the second transport would wait past the handshake timeout.
  gw = await startTestGateway({ HANDSHAKE_TIMEOUT_MS: '1000', AUTH_FAILURES_PER_IP: '0' });
  ({ client: bystander } = await session(gw.url, { sub: 'bystander' }));
  bystander.send({ type: 'subscribe', channel: streamChannel, ref: 'steady' });
  await bystander.next((f) => f.type === 'subscribed');
  stream = new PublishLoop(() => gw.http, streamChannel, { pauseMs: 5 });
});

afterAll(async () => {
  await stream.stop();
  for (const client of opened) client.drop();
  await gw.stop();
});

async function connect(url: string, correlationId: string): Promise<TestClient> {
  const client = await TestClient.connect(url, { 'x-correlation-id': correlationId });
  opened.push(client);
  return client;
}

async function session(url: string, claims: TokenClaims) {
  const started = await TestClient.session(url, { token: await mintToken(claims) });
  opened.push(started.client);
  return started;
}

/** How often the gateway counted MESSAGE_TOO_LARGE (GET /metrics). */
async function tooLargeCount(): Promise<number> {
  const metrics = await (await fetch(`${gw.http}/metrics`)).text();
  const match = /tether_errors_total\{code="MESSAGE_TOO_LARGE",category="client"\} (\d+)/.exec(metrics);
  return Number(match?.[1] ?? 0);
}

async function expectError(
  client: TestClient,
  expected: {
    code: ErrorCode;
    category: ErrorCategory;
    retryable: boolean;
    correlationId: string;
    ref?: string;
  },
): Promise<ErrorFrame> {
  const frame = (await client.next((f) => f.type === 'error')) as ErrorFrame;
  expect(frame).toMatchObject(expected);
  expect(frame.message).toBeTruthy();
  return frame;
}

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  const url = () => endpoint(gw, transport);

  describe('bad frames on an open session get a coded error and the session carries on', () => {
    const cases: {
      name: string;
      /** A WebSocket-only case: SSE carries text only (a POST body is lines of JSON). */
      websocketOnly?: boolean;
      claims?: TokenClaims;
      send(client: TestClient): void;
      code: ErrorCode;
      category: ErrorCategory;
      ref?: string;
    }[] = [
      {
        name: 'malformed JSON',
        send: (c) => c.send('{"type":"subscribe","ref":"m1",'),
        code: 'MALFORMED_MESSAGE',
        category: 'client',
        ref: 'm1',
      },
      {
        name: 'an unknown frame type',
        send: (c) => c.send({ type: 'teleport', ref: 'u1' }),
        code: 'UNKNOWN_FRAME_TYPE',
        category: 'client',
        ref: 'u1',
      },
      {
        name: 'a binary frame',
        websocketOnly: true,
        send: (c) => c.ws.send(Buffer.from([1, 2, 3])),
        code: 'BINARY_NOT_SUPPORTED',
        category: 'client',
      },
      {
        name: 'a second hello',
        send: (c) => c.send({ type: 'hello', token: 'whatever' }),
        code: 'ALREADY_AUTHENTICATED',
        category: 'client',
      },
      {
        name: 'a forbidden channel',
        claims: { channels: ['room:*'] },
        send: (c) => c.send({ type: 'subscribe', channel: 'vault', ref: 'f1' }),
        code: 'FORBIDDEN_CHANNEL',
        category: 'event',
        ref: 'f1',
      },
      {
        name: 'a publish the token does not allow',
        claims: { channels: ['*'], publish: [] },
        send: (c) => c.send({ type: 'publish', channel: 'room:1', data: {}, ref: 'p1' }),
        code: 'PUBLISH_FORBIDDEN',
        category: 'event',
        ref: 'p1',
      },
    ];

    const here = cases.filter((c) => transport === 'websocket' || !c.websocketOnly);
    it.each(here)('$name → $code', async ({ claims, send, code, category, ref }) => {
      const { client, welcome } = await session(url(), { sub: `user-${code}`, ...claims });
      send(client);
      const correlationId = welcome.correlationId;
      await expectError(client, { code, category, retryable: false, correlationId, ...(ref ? { ref } : {}) });
      await settle(client); // still open and answering
      expect(client.closed).toBeUndefined();
    });
  });

  describe('bad input that ends the connection: error frame first, then the close code', () => {
    it('a frame over 64 KiB → MESSAGE_TOO_LARGE, close 1009; nothing of it was published', async () => {
      const { client, welcome } = await session(url(), { sub: 'big' });
      const channel = `big:${randomUUID().slice(0, 8)}`;
      client.send({ type: 'subscribe', channel, ref: 'sub' });
      await client.next((f) => f.type === 'subscribed');
      client.send({ type: 'publish', channel, data: 'x'.repeat(70 * 1024), ref: 'big' });
      await expectError(client, {
        code: 'MESSAGE_TOO_LARGE',
        category: 'client',
        retryable: false,
        correlationId: welcome.correlationId,
      });
      expect((await client.waitClosed()).code).toBe(1009);
      expect(client.frames.some((f) => f.type === 'ack')).toBe(false);

      // The session stays resumable (docs/protocol.md §7), and the oversized frame never reached the log.
      const resumed = await TestClient.session(url(), {
        token: await mintToken({ sub: 'big' }),
        resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
      });
      opened.push(resumed.client);
      expect(resumed.welcome).toMatchObject({ sessionId: welcome.sessionId, resumed: true });
      const marker = await publishHttp(gw.http, channel, { after: 'the oversized frame' });
      await resumed.client.waitForEvents(1);
      await settle(resumed.client);
      expect(ids(resumed.client.events())).toEqual([marker]);
    });

    it('frames sent behind the one that spent the error budget are not carried out: nothing stored unacked', async () => {
      const { client, welcome } = await session(url(), { sub: 'spent' });
      const channel = `spent:${randomUUID().slice(0, 8)}`;
      // One burst: the edge may have read the publishes before the close is decided.
      for (let i = 0; i <= 20; i++) client.send({ type: 'no-such-frame', ref: `bad${i}` });
      for (let i = 0; i < 5; i++) client.send({ type: 'publish', channel, data: { i }, ref: `late${i}` });
      expect((await client.waitClosed()).code).toBe(1008);
      const errors = client.frames.filter((f): f is ErrorFrame => f.type === 'error');
      expect(errors.at(-1)).toMatchObject({ code: 'TOO_MANY_ERRORS' });
      expect(errors.filter((e) => e.code === 'UNKNOWN_FRAME_TYPE')).toHaveLength(21); // the last one spent the budget
      expect(client.frames.some((f) => f.type === 'ack')).toBe(false);

      // What a resume finds in the channel: only what was published after.
      const resumed = await TestClient.session(url(), {
        token: await mintToken({ sub: 'spent' }),
        resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
      });
      opened.push(resumed.client);
      resumed.client.send({ type: 'subscribe', channel, from: '0-0', ref: 'sub' });
      await resumed.client.next((f) => f.type === 'subscribed');
      const marker = await publishHttp(gw.http, channel, { after: 'the spent budget' });
      await resumed.client.waitForEvents(1);
      await settle(resumed.client);
      expect(ids(resumed.client.events())).toEqual([marker]);
    });

    it('a frame over 4× the limit is cut before it is read; counted as MESSAGE_TOO_LARGE, the session resumes', async () => {
      const posts: Response[] = [];
      // Records the answers to the SSE fallback's POSTs (docs/protocol.md §1.1).
      const sseFetch: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'POST') posts.push(response.clone());
        return response;
      };
      const client = await TestClient.connect(url(), {}, { sseFetch });
      opened.push(client);
      client.send({ type: 'hello', token: await mintToken({ sub: 'huge' }) });
      const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
      const before = await tooLargeCount();
      client.send({ type: 'publish', channel: 'huge:1', data: 'x'.repeat(300 * 1024), ref: 'huge' });
      const closed = await client.waitClosed();
      if (transport === 'websocket') {
        // The WebSocket layer drops it unread: no error frame can say why.
        expect(closed.code).toBe(1006);
      } else {
        // The POST is refused with 413 and a coded body; the stream gets the error and the close.
        const refusal = await eventually(() => posts.find((r) => r.status !== 204), 'the refusal');
        expect(refusal.status).toBe(413);
        expect(await refusal.json()).toMatchObject({ error: 'MESSAGE_TOO_LARGE' });
        expect(client.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
        expect(closed).toEqual({ code: 1009, reason: 'MESSAGE_TOO_LARGE' });
      }
      await eventually(async () => (await tooLargeCount()) > before, 'MESSAGE_TOO_LARGE counted');
      expect(client.frames.some((f) => f.type === 'ack')).toBe(false);
      const resumed = await TestClient.session(url(), {
        token: await mintToken({ sub: 'huge' }),
        resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
      });
      opened.push(resumed.client);
      expect(resumed.welcome).toMatchObject({ sessionId: welcome.sessionId, resumed: true });
    });

    it.each([
      ['not a JWT', async () => 'not-a-jwt'],
      ['signed with another secret', () => mintToken({}, `${TEST_SECRET}-but-not-this-one`)],
    ])('an invalid token (%s) → AUTH_INVALID_TOKEN, close 4001', async (_, token) => {
      const correlationId = `cid-invalid-${randomUUID()}`;
      const client = await connect(url(), correlationId);
      client.send({ type: 'hello', token: await token() });
      await expectError(client, {
        code: 'AUTH_INVALID_TOKEN',
        category: 'connection',
        retryable: false,
        correlationId,
      });
      expect((await client.waitClosed()).code).toBe(4001);
    });

    it('an expired token → AUTH_TOKEN_EXPIRED, close 4002', async () => {
      const correlationId = `cid-expired-${randomUUID()}`;
      const client = await connect(url(), correlationId);
      client.send({ type: 'hello', token: await mintToken({ expiresIn: '10 s ago' }) });
      await expectError(client, {
        code: 'AUTH_TOKEN_EXPIRED',
        category: 'connection',
        retryable: true,
        correlationId,
      });
      expect((await client.waitClosed()).code).toBe(4002);
    });

    it('a frame before hello → HELLO_REQUIRED, close 1008', async () => {
      const correlationId = `cid-early-${randomUUID()}`;
      const client = await connect(url(), correlationId);
      client.send({ type: 'subscribe', channel: 'room:1' });
      await expectError(client, {
        code: 'HELLO_REQUIRED',
        category: 'client',
        retryable: false,
        correlationId,
      });
      expect((await client.waitClosed()).code).toBe(1008);
    });

    it('no hello within HANDSHAKE_TIMEOUT_MS → HANDSHAKE_TIMEOUT, close 4003', async () => {
      const correlationId = `cid-silent-${randomUUID()}`;
      const client = await connect(url(), correlationId);
      await expectError(client, {
        code: 'HANDSHAKE_TIMEOUT',
        category: 'connection',
        retryable: true,
        correlationId,
      });
      expect((await client.waitClosed()).code).toBe(4003);
    });
  });
});

describe('frames pipelined behind hello past the 64 held until welcome', () => {
  // 26 refused: more than MAX_ERRORS_PER_MINUTE (20), which a refusal for timing must not spend.
  const BURST = 90;
  const publishes = (channel: string) =>
    Array.from({ length: BURST }, (_, n) => ({ type: 'publish', ref: `p${n}`, channel, data: { n } }));

  /** The first 64 are handled after welcome; each one past is refused at once, with its ref, and nothing closes. */
  function expectCapped(frames: ServerFrame[], correlationId: string): void {
    const errors = frames.filter((f): f is ErrorFrame => f.type === 'error');
    expect(errors.map((e) => e.ref)).toEqual(Array.from({ length: BURST - 64 }, (_, n) => `p${64 + n}`));
    for (const error of errors)
      expect(error).toMatchObject({
        code: 'WELCOME_PENDING',
        category: 'client',
        retryable: true,
        correlationId,
      });
    const welcomeAt = frames.findIndex((f) => f.type === 'welcome');
    expect(frames.slice(welcomeAt).some((f) => f.type === 'error')).toBe(false);
    const acks = frames.filter((f) => f.type === 'ack').map((f) => (f as { ref: string }).ref);
    expect(acks).toEqual(Array.from({ length: 64 }, (_, n) => `p${n}`));
  }

  it('over WebSocket: the rest are refused WELCOME_PENDING, and sent again after welcome they are taken', async () => {
    const correlationId = `cid-pipelined-${randomUUID()}`;
    const channel = `pipelined:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'pipeliner' });
    const client = await connect(gw.url, correlationId);
    // One burst, no await between: the gateway reads it all before its handshake's Redis replies.
    client.send({ type: 'hello', token });
    for (const frame of publishes(channel)) client.send(frame);
    await eventually(() => client.frames.filter((f) => f.type === 'ack').length >= 64, '64 acks');
    client.send({ type: 'publish', ref: 'again', channel, data: { n: 64 } });
    await client.next((f) => f.type === 'ack' && (f as { ref: string }).ref === 'again');
    expectCapped(client.frames.slice(0, -1), correlationId);
    expect(client.closed).toBeUndefined();
  });

  it('over SSE: the same, for frames in the POST that carried hello', async () => {
    const correlationId = `cid-pipelined-sse-${randomUUID()}`;
    const channel = `pipelined:${randomUUID().slice(0, 8)}`;
    const stream = await RawSseStream.open(gw.sseUrl, { 'x-correlation-id': correlationId });
    await stream.next((m) => m.event === 'open');
    const hello = { type: 'hello', token: await mintToken({ sub: 'pipeliner' }) };
    expect((await stream.post([hello, ...publishes(channel)])).status).toBe(204);
    const frames = () =>
      stream.messages
        .filter((m) => m.event === 'message' && !m.comment)
        .map((m) => JSON.parse(m.data) as ServerFrame);
    await eventually(() => frames().filter((f) => f.type === 'ack').length >= 64, '64 acks');
    expectCapped(frames(), correlationId);
    expect(stream.messages.some((m) => m.event === 'close')).toBe(false);
    stream.close();
  });
});

describe('a bystander on the same gateway', () => {
  it('received every event published meanwhile, once, in order', async () => {
    const published = await stream.stop();
    expect(published.length).toBeGreaterThan(50);
    await bystander.waitForEvents(published.length);
    await settle(bystander);
    expect(ids(bystander.events())).toEqual(published);
    expect(bystander.closed).toBeUndefined();
  });
});
