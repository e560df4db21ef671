/**
 * permessage-deflate (issue 17, part 3): with WS_COMPRESSION on, a real client (the
 * `ws` package, which offers the extension by default) negotiates it on whichever
 * edge runs this project, and decodes every frame — live fan-out and replayed events
 * alike — to exactly what was published, with far fewer bytes on the wire for
 * chat-like JSON. A client that does not offer it is served uncompressed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ADMIN_KEY } from '../support/gateway-pair.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CHANNEL = 'room:lobby';
/** Chat-like: the same keys and much the same words in every event. */
const chat = (n: number) => ({
  author: { id: `user-${n % 7}`, name: `Member number ${n % 7}` },
  text: `message ${n}: the quick brown fox jumps over the lazy dog, again and again`,
  reactions: { like: n % 3, laugh: n % 5 },
  sentAt: '2026-12-05T03:00:00.000Z',
});
const EVENTS = 40;

let gw: TestGateway | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await gw?.stop();
  gw = undefined;
});

/** Bytes the client's TCP socket received from here on. */
function wireBytes(client: TestClient): () => number {
  let bytes = 0;
  (client.ws as unknown as { _socket: NodeJS.EventEmitter })._socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  return () => bytes;
}

async function subscribed(url: string, from?: string) {
  const { client } = await TestClient.session(url, { token: await mintToken({ sub: 'reader' }) });
  sockets.push(client.ws);
  client.send({ type: 'subscribe', channel: CHANNEL, ref: 's', ...(from ? { from } : {}) });
  await client.next((f) => f.type === 'subscribed');
  return client;
}

/**
 * Wire bytes / frame text at most. A shared compressor starts every message afresh;
 * a dedicated one may find the repeated keys and words of earlier events — the
 * portable edge does (≈ 0.1), the uWS 20.30 build does not (≈ 0.8, docs/edge.md).
 */
const RATIO = 0.9;

describe.each(['shared', 'dedicated'] as const)('WS_COMPRESSION=%s', (mode) => {
  it('is negotiated by a real client, decodes to what was published, and shrinks the bytes', async () => {
    gw = await startTestGateway({ WS_COMPRESSION: mode, WS_COMPRESSION_THRESHOLD_BYTES: '64' });
    const live = await subscribed(gw.url);
    expect(live.ws.extensions).toContain('permessage-deflate');
    const received = wireBytes(live);

    const published: string[] = [];
    for (let n = 0; n < EVENTS; n++) published.push(await publishHttp(gw.http, CHANNEL, chat(n)));
    await live.waitForEvents(EVENTS, CHANNEL);
    const events = live.events(CHANNEL);
    expect(ids(events)).toEqual(published);
    expect(events.map((e) => e.data)).toEqual(published.map((_, n) => chat(n)));
    const textBytes = events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(received()).toBeLessThan(textBytes * RATIO);

    // Replayed events are sent one by one (not the topic's fan-out): decoded the same.
    const late = await subscribed(gw.url, '0-0');
    await late.waitForEvents(EVENTS, CHANNEL);
    expect(late.events(CHANNEL).map((e) => e.data)).toEqual(published.map((_, n) => chat(n)));

    const health = await fetch(`${gw.http}/health/websocket`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(((await health.json()) as { compression: unknown }).compression).toEqual({
      mode,
      thresholdBytes: 64,
      windowKb: 4,
    });
  });

  it('serves a client that does not offer it, uncompressed', async () => {
    gw = await startTestGateway({ WS_COMPRESSION: mode });
    const ws = new WebSocket(gw.url, { perMessageDeflate: false });
    sockets.push(ws);
    const frames: { type: string; data?: unknown }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve) => ws.once('open', resolve));
    expect(ws.extensions).toBe('');
    ws.send(JSON.stringify({ type: 'hello', token: await mintToken({ sub: 'plain' }) }));
    ws.send(JSON.stringify({ type: 'subscribe', channel: CHANNEL, ref: 's' }));
    await vi.waitUntil(() => frames.some((f) => f.type === 'subscribed'));
    await publishHttp(gw.http, CHANNEL, chat(1));
    await vi.waitUntil(() => frames.some((f) => f.type === 'event'));
    expect(frames.find((f) => f.type === 'event')?.data).toEqual(chat(1));
  });
});

it('WS_COMPRESSION=off (the default) offers nothing', async () => {
  gw = await startTestGateway();
  const client = await subscribed(gw.url);
  expect(client.ws.extensions).toBe('');
});
