/**
 * The SSE stream's `id` (every channel's position, docs/protocol.md §1.1) is what a reconnecting
 * EventSource sends back as `Last-Event-ID`, merged into its resume hello. Found by fuzzing the
 * hello: a hello refused for its own fields left its `lastEventIds` in the stream's positions, so
 * the gateway wrote a `Last-Event-ID` whose entry ("bad key") then refused every resume hello of
 * the reconnect with MALFORMED_MESSAGE. Here: neither a refused hello nor a header entry that is
 * no channel name can refuse a later hello.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import { publishMany, sleep } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { RawSseStream } from '../support/raw-sse-stream.ts';

const gateways: TestGateway[] = [];
const streams: RawSseStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function open(gw: TestGateway, headers: Record<string, string> = {}): Promise<RawSseStream> {
  const stream = await RawSseStream.open(gw.sseUrl, headers);
  streams.push(stream);
  await stream.next((m) => m.event === 'open');
  return stream;
}

const codes = (stream: RawSseStream) =>
  stream.messages
    .filter((m) => m.event === 'message' && m.data.includes('"error"'))
    .map((m) => (JSON.parse(m.data) as { code: string }).code);

const eventIds = (stream: RawSseStream) =>
  stream.messages
    .filter((m) => m.event === 'message' && m.data.startsWith('{"type":"event"'))
    .map((m) => (JSON.parse(m.data) as { id: string }).id);

describe('SSE positions from input the gateway refuses', () => {
  it("a refused hello's lastEventIds are not the stream's: its id names the session's channels, and resuming with it works", async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const token = await mintToken({ sub: 'refused-first' });
    const [one, two] = [`pos:${randomUUID().slice(0, 8)}`, `pos:${randomUUID().slice(0, 8)}`];
    const stream = await open(gw);
    const refused = { sessionId: 's', resumeToken: 't', lastEventIds: { 'bad key': '1-0' } };
    await stream.post([{ type: 'hello', token, resume: refused }]);
    await sleep(200);
    expect(codes(stream)).toEqual(['MALFORMED_MESSAGE']);
    await stream.post([{ type: 'hello', token }]);
    const welcome = await stream.frame<WelcomeFrame>('welcome');
    await stream.post([
      { type: 'subscribe', channel: one, ref: 's1' },
      { type: 'subscribe', channel: two, ref: 's2' },
    ]);
    await stream.next((m) => m.data.includes('"ref":"s2"'));
    const [seen] = await publishMany(gw.http, one, 1);
    const event = await stream.next((m) => m.id !== undefined);
    expect(JSON.parse(event.id as string)).toEqual({ [one]: seen });

    stream.close();
    const missed = await publishMany(gw.http, one, 2);
    const again = await open(gw, { 'last-event-id': event.id as string });
    const resume = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken };
    await again.post([{ type: 'hello', token, resume }]);
    expect(await again.frame('welcome')).toMatchObject({ resumed: true, recovered: true });
    await again.frame('event');
    await sleep(300);
    expect(eventIds(again).sort()).toEqual([...missed].sort());
    expect(codes(again)).toEqual([]);
  });

  it('a Last-Event-ID entry whose key is no channel name is ignored, not refused as the hello’s', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const token = await mintToken({ sub: 'odd-header' });
    const channel = `pos:${randomUUID().slice(0, 8)}`;
    const stream = await open(gw);
    await stream.post([{ type: 'hello', token }]);
    const welcome = await stream.frame<WelcomeFrame>('welcome');
    await stream.post([{ type: 'subscribe', channel, ref: 's1' }]);
    await stream.next((m) => m.data.includes('"ref":"s1"'));
    const [seen] = await publishMany(gw.http, channel, 1);
    await stream.frame('event');
    stream.close();
    const missed = await publishMany(gw.http, channel, 1);

    const header = JSON.stringify({ 'bad key': '1-0', 'room:*': '1-0', [channel]: seen });
    const again = await open(gw, { 'last-event-id': header });
    const resume = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken };
    await again.post([{ type: 'hello', token, resume }]);
    expect(await again.frame('welcome')).toMatchObject({ resumed: true, recovered: true });
    await again.frame('event');
    await sleep(300);
    expect(eventIds(again)).toEqual(missed);
    expect(codes(again)).toEqual([]);
  });
});
