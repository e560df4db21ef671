/**
 * Raw line breaks in a frame over SSE (docs/protocol.md §1.1). JSON allows CR and LF between
 * tokens, and `data` is kept as its publisher wrote it (§3), so a pretty-printed publish reaches
 * the stream with line breaks in its frame. On one `data:` line a standard SSE parser ends the
 * field at the first break (the rest are unknown fields, a blank line ends the message) and the
 * event, already past in the stream's `id`, is lost. Read here by the WHATWG rules
 * (whatwg-event-stream.ts) and by the SDK's own SSE transport, live and replayed on a resume.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { WhatwgSseStream } from '../support/whatwg-event-stream.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const streams: WhatwgSseStream[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(): Promise<TestGateway> {
  const gw = await startTestGateway();
  gateways.push(gw);
  return gw;
}

/**
 * `value` pretty-printed, with every kind of line break SSE knows (LF, CRLF, a lone CR) and a
 * blank line, all between tokens: valid JSON whose value is `value`.
 */
function pretty(value: Record<string, unknown>): string {
  const lines = JSON.stringify(value, null, 2).split('\n');
  return lines.map((line, i) => (i === 0 ? line : `${['\n', '\r\n', '\r', '\n\n'][i % 4]}${line}`)).join('');
}

/** The text a standard SSE client gets back for `text`: CR and CRLF read as LF (§1.1). */
const asRead = (text: string) => text.replace(/\r\n?/g, '\n');

/** Publish from a client over WebSocket, the frame written by hand: `data` as `dataText`. */
async function publishWs(client: TestClient, channel: string, dataText: string): Promise<string> {
  const ref = randomUUID().slice(0, 8);
  client.send(`{"type":"publish","channel":${JSON.stringify(channel)},"ref":"${ref}","data":${dataText}}`);
  const ack = (await client.next((f) => f.type === 'ack' && f.ref === ref)) as { id: string };
  return ack.id;
}

/** POST /publish as a backend that pretty-prints its whole body. */
async function publishHttp(http: string, channel: string, dataText: string): Promise<string> {
  const res = await fetch(`${http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: `{\r\n  "channel": ${JSON.stringify(channel)},\n  "data": ${dataText}\n}\n`,
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

async function wsSession(gw: TestGateway, sub: string): Promise<TestClient> {
  const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub }) });
  clients.push(client);
  return client;
}

/** A standard SSE stream, its hello sent (`hello` adds to it) and welcomed. */
async function sseSession(
  gw: TestGateway,
  hello: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const stream = await WhatwgSseStream.open(gw.sseUrl, headers);
  streams.push(stream);
  await stream.next((m) => m.type === 'open');
  await stream.post([{ type: 'hello', ...hello }]);
  const welcome = await stream.frame<WelcomeFrame>('welcome');
  return { stream, welcome };
}

const fromClient = { text: 'from a client', n: 1, nested: { list: [1, 2, { deep: true }] } };
const fromBackend = { text: 'from a backend', n: 2, empty: {}, none: [] };

describe('frames with raw line breaks over SSE', () => {
  it('a pretty-printed event, published over WebSocket and POST /publish, arrives whole and equal', async () => {
    const gw = await gateway();
    const channel = `pretty:${randomUUID().slice(0, 8)}`;
    const { stream } = await sseSession(gw, { token: await mintToken({ sub: 'reader' }) });
    await stream.post([{ type: 'subscribe', channel, ref: 's1' }]);
    await stream.frame('subscribed');
    // The SDK's own SSE transport too (TestClient over http:// is packages/client's SseSocket).
    const { client: sdk } = await TestClient.session(gw.sseUrl, { token: await mintToken({ sub: 'sdk' }) });
    clients.push(sdk);
    sdk.send({ type: 'subscribe', channel, ref: 's1' });
    await sdk.next((f) => f.type === 'subscribed');

    const publisher = await wsSession(gw, 'writer');
    const wsText = pretty(fromClient);
    const httpText = pretty(fromBackend);
    const wsId = await publishWs(publisher, channel, wsText);
    const httpId = await publishHttp(gw.http, channel, httpText);
    const afterId = await publishWs(publisher, channel, '"plain"');

    const last = await stream.next((m) => m.type === 'message' && m.data.includes(afterId));
    const events = stream.messages
      .filter((m) => m.type === 'message' && m.data.includes('"type":"event"'))
      .map((m) => ({ message: m, frame: JSON.parse(m.data) as EventFrame }));
    expect(events.map((e) => e.frame.id)).toEqual([wsId, httpId, afterId]);
    expect(events.map((e) => e.frame.data)).toEqual([fromClient, fromBackend, 'plain']);
    // The text as published, its line breaks read as LF; each event's SSE id is its position.
    expect(events[0]?.message.data).toContain(`"data":${asRead(wsText)}}`);
    expect(events[1]?.message.data).toContain(`"data":${asRead(httpText)}}`);
    expect(events.map((e) => JSON.parse(e.message.lastEventId))).toEqual([
      { [channel]: wsId },
      { [channel]: httpId },
      { [channel]: afterId },
    ]);
    expect(JSON.parse(last.lastEventId)).toEqual({ [channel]: afterId });

    await sdk.waitForEvents(3, channel);
    expect(sdk.events(channel).map((e) => [e.id, e.data])).toEqual([
      [wsId, fromClient],
      [httpId, fromBackend],
      [afterId, 'plain'],
    ]);
  });

  it('replays pretty-printed events on a resume over SSE (Last-Event-ID), and in history', async () => {
    const gw = await gateway();
    const channel = `pretty:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'resumer' });
    const first = await sseSession(gw, { token });
    await first.stream.post([{ type: 'subscribe', channel, ref: 's1' }]);
    await first.stream.frame('subscribed');
    const publisher = await wsSession(gw, 'writer');
    const seenId = await publishWs(publisher, channel, '{"seen":true}');
    const seen = await first.stream.next((m) => m.data.includes(seenId));
    first.stream.close();

    // Published while no stream is open: only the resume can bring them.
    const missed = [
      await publishWs(publisher, channel, pretty(fromClient)),
      await publishHttp(gw.http, channel, pretty(fromBackend)),
    ];
    const second = await sseSession(
      gw,
      { token, resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken } },
      { 'last-event-id': seen.lastEventId },
    );
    expect(second.welcome).toMatchObject({ resumed: true, recovered: true });
    await second.stream.next((m) => m.data.includes(missed[1] as string));
    const replayed = second.stream.messages
      .filter((m) => m.data.includes('"type":"event"'))
      .map((m) => JSON.parse(m.data) as EventFrame);
    expect(replayed.map((e) => [e.id, e.data])).toEqual([
      [missed[0], fromClient],
      [missed[1], fromBackend],
    ]);

    await second.stream.post([{ type: 'history', channel, ref: 'h1' }]);
    const history = await second.stream.frame<{ events: EventFrame[] }>('history');
    expect(history.events.map((e) => e.data)).toEqual([{ seen: true }, fromClient, fromBackend]);
  });
});
