/**
 * The SSE fallback as HTTP (issue 17, docs/protocol.md §1.1): its stream gzipped for a client
 * that accepts it — each event decodable as it is written, none held in a compressor — and
 * CORS for pages on another origin (ALLOWED_ORIGINS), whose refusal the SDK can read and
 * reports as a fatal, coded error instead of retrying.
 */

import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { classifyClose } from '../../packages/client/src/classify-close.ts';
import { TetherClient } from '../../packages/client/src/index.ts';
import { SseSocket } from '../../packages/client/src/sse-socket.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ADMIN_KEY } from '../support/gateway-pair.ts';
import { RawSseStream } from '../support/raw-sse-stream.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const streams: RawSseStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

async function open(url: string, headers: Record<string, string> = {}): Promise<RawSseStream> {
  const stream = await RawSseStream.open(url, headers);
  streams.push(stream);
  return stream;
}

/** A stream with its session welcomed and `channel` subscribed. */
async function subscribed(gw: TestGateway, channel: string, headers: Record<string, string>) {
  const stream = await open(gw.sseUrl, headers);
  await stream.next((m) => m.event === 'open');
  await stream.post([{ type: 'hello', token: await mintToken({ sub: 'gzip-reader' }) }]);
  await stream.frame('welcome');
  await stream.post([{ type: 'subscribe', channel, ref: 's1' }]);
  await stream.frame('subscribed');
  return stream;
}

/** A chat message as an application would publish it. */
const chat = (n: number) => ({
  user: `user-${n % 5}`,
  text: `message number ${n}: the quick brown fox jumps over the lazy dog`,
  room: 'lobby',
  sentAt: 1_733_000_000_000 + n,
});

describe.each(['shared', 'dedicated'] as const)('gzip with WS_COMPRESSION=%s', (mode) => {
  it('sends each event as it happens, decodable on its own, and a valid gzip stream to the end', async () => {
    const gw = await gateway({ WS_COMPRESSION: mode, WS_COMPRESSION_THRESHOLD_BYTES: '64' });
    const channel = `gz:${randomUUID().slice(0, 8)}`;
    const stream = await subscribed(gw, channel, { 'accept-encoding': 'gzip, deflate' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-encoding']).toBe('gzip');
    expect(String(stream.headers.vary)).toContain('accept-encoding');

    // Another stream of the channel: a publish is compressed once for the streams whose text so
    // far matches; this one's differs now and then (its pongs), so it must get its own bytes.
    const other = await subscribed(gw, channel, { 'accept-encoding': 'gzip' });

    // One event at a time, each awaited before the next is published: an event held in a
    // compressor until more bytes push it would never arrive (nothing else is written).
    const published: string[] = [];
    for (let n = 0; n < 40; n++) {
      const from = stream.messages.length;
      published.push(await publishHttp(gw.http, channel, chat(n)));
      const event = await stream.frame<{ id: string; data: unknown }>('event', from);
      expect(event).toMatchObject({ id: published[n], data: chat(n) });
      expect(stream.messages.slice(from).some((m) => m.comment)).toBe(false); // no keep-alive pushed it
      if (n % 10 === 5) {
        const at = other.messages.length;
        await other.post([{ type: 'ping' }]);
        await other.frame('pong', at);
      }
    }

    for (const s of [stream, other]) {
      await s.post([{ type: 'bye' }]);
      await s.closed();
    }
    // The whole body is one gzip member, trailer (CRC-32, size) included: a strict decoder takes it.
    const text = gunzipSync(Buffer.concat(stream.wire)).toString('utf8');
    expect(text).toContain('event: close\n');
    expect(text.match(/"type":"event"/g)).toHaveLength(40);
    const otherText = gunzipSync(Buffer.concat(other.wire)).toString('utf8');
    const eventIds = (body: string) =>
      [...body.matchAll(/"type":"event","channel":"[^"]+","id":"([^"]+)"/g)].map((m) => m[1]);
    expect(eventIds(otherText)).toEqual(published);
    expect(eventIds(text)).toEqual(published);
    expect(otherText.match(/"type":"pong"/g)).toHaveLength(4);
    // dedicated: later events refer back to earlier ones; shared: each message compressed alone.
    expect(stream.wireBytes).toBeLessThan(Buffer.byteLength(text) * (mode === 'dedicated' ? 0.4 : 0.95));

    const health = await fetch(`${gw.http}/health/websocket`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(((await health.json()) as { sseCompression: unknown }).sseCompression).toEqual({
      encoding: 'gzip',
      contextKb: mode === 'dedicated' ? 4 : 0,
      thresholdBytes: 64,
    });
  });

  it("is decoded by fetch and the SDK's SSE transport, which ask for it themselves", async () => {
    const gw = await gateway({ WS_COMPRESSION: mode });
    const response = await fetch(gw.sseUrl, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: open\ndata: \{"connection":/);
    await reader.cancel();

    const channel = `gz:${randomUUID().slice(0, 8)}`;
    const { client } = await TestClient.session(gw.sseUrl, { token: await mintToken({ sub: 'sdk' }) });
    try {
      client.send({ type: 'subscribe', channel, ref: 's1' });
      await client.next((f) => f.type === 'subscribed');
      const ids: string[] = [];
      for (let n = 0; n < 10; n++) ids.push(await publishHttp(gw.http, channel, chat(n)));
      await client.waitForEvents(10, channel);
      expect(client.events(channel).map((e) => e.id)).toEqual(ids);
    } finally {
      client.drop();
    }
  });
});

describe('gzip not used', () => {
  it('for a client that does not accept it, or when WS_COMPRESSION is off', async () => {
    const on = await gateway({ WS_COMPRESSION: 'dedicated' });
    const plain = await open(on.sseUrl, { 'accept-encoding': 'gzip;q=0, identity' });
    await plain.next((m) => m.event === 'open');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Buffer.concat(plain.wire).toString('utf8')).toMatch(/^event: open\n/);

    const off = await gateway({ WS_COMPRESSION: 'off' });
    const offered = await open(off.sseUrl, { 'accept-encoding': 'gzip' });
    await offered.next((m) => m.event === 'open');
    expect(offered.headers['content-encoding']).toBeUndefined();
  });
});

const APP = 'http://app.example.test:8080';
const EVIL = 'http://evil.example.test';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request as a browser makes it cross-origin: its Origin header set (fetch would not let us). */
function send(url: string, method: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      // An event stream never ends: its headers and first bytes are enough.
      const done = () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        });
        req.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (res.headers['content-type'] === 'text/event-stream') done();
      });
      res.on('end', done);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (url: string, origin: string) =>
  send(url, 'OPTIONS', {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type, tether-connection, tether-seq',
  });

describe('CORS with ALLOWED_ORIGINS', () => {
  it('answers an allowed page: preflight, stream and POSTs carry its origin, never credentials', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: APP });
    for (const path of ['/sse', '/sse/frames']) {
      const answer = await preflight(`${gw.http}${path}`, APP);
      expect(answer.status).toBe(204);
      expect(answer.headers).toMatchObject({
        'access-control-allow-origin': APP,
        'access-control-allow-methods': expect.stringContaining('POST'),
        'access-control-allow-headers': expect.stringContaining('tether-connection'),
      });
      expect(answer.headers['access-control-allow-headers']).toContain('tether-seq');
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }

    const stream = await send(gw.sseUrl, 'GET', { origin: APP, accept: 'text/event-stream' });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(APP);
    expect(stream.headers['access-control-allow-credentials']).toBeUndefined();
    expect(stream.body).toMatch(/^event: open\n/);

    const post = await send(
      `${gw.sseUrl}/frames`,
      'POST',
      { origin: APP, 'tether-connection': 'gone' },
      '{}',
    );
    expect(post.status).toBe(404);
    expect(post.headers['access-control-allow-origin']).toBe(APP);
    expect(JSON.parse(post.body)).toMatchObject({ error: 'SSE_CONNECTION_UNKNOWN' });
  });

  it('refuses another page with 403 ORIGIN_NOT_ALLOWED, which the page can read', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: APP });
    for (const answer of [
      await preflight(`${gw.http}/sse/frames`, EVIL),
      await send(gw.sseUrl, 'GET', { origin: EVIL }),
      await send(`${gw.sseUrl}/frames`, 'POST', { origin: EVIL, 'tether-connection': 'x' }, '{}'),
    ]) {
      expect(answer.status).toBe(403);
      expect(answer.headers['access-control-allow-origin']).toBe(EVIL);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'ORIGIN_NOT_ALLOWED', origin: EVIL });
    }
  });

  it('without ALLOWED_ORIGINS answers any page, as the WebSocket accepts any', async () => {
    const gw = await gateway();
    const stream = await send(gw.sseUrl, 'GET', { origin: EVIL });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(EVIL);
    expect((await preflight(`${gw.http}/sse/frames`, EVIL)).status).toBe(204);
  });
});

describe("the SDK's SSE transport refused for its origin", () => {
  it('closes with ORIGIN_NOT_ALLOWED, which the SDK classifies as fatal (no retry)', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: APP });
    // A browser sends its page's Origin itself; Node's fetch is told to, as that page's would.
    const fromEvil: typeof fetch = (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), origin: EVIL } });
    const socket = new SseSocket(gw.sseUrl, { fetch: fromEvil });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      socket.onclose = resolve;
    });
    expect(closed).toEqual({ code: 1008, reason: 'ORIGIN_NOT_ALLOWED' });
    const error = classifyClose(closed.code, closed.reason);
    expect(error).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED', retryable: false, category: 'connection' });
  });
});

describe('the SDK over WebSocket refused for its origin', () => {
  it("stops with ORIGIN_NOT_ALLOWED in Node, where `ws` shows the 403's body", async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: APP });
    // A Node client that sends a page's Origin (Electron, a test harness): `ws` passes it on.
    class FromEvil extends WebSocket {
      constructor(url: string) {
        super(url, { origin: EVIL });
      }
    }
    const token = await mintToken({ sub: 'refused-node' });
    for (const transport of ['websocket', 'auto'] as const) {
      const client = new TetherClient({
        url: gw.url,
        token,
        WebSocket: FromEvil,
        transport,
        networkAware: false,
      });
      client.connect();
      const error = await client.ready().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED', retryable: false, closeCode: 1008 });
      expect(client.state).toBe('failed');
      client.disconnect();
    }
  });
});
