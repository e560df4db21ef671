/**
 * Batched delivery (issue 17, part 4): a socket that asks for it in hello (`batch:
 * true`), or any socket on a namespace with `batch: true`, gets the live events of one
 * gateway loop turn in one `batch` frame. Every event arrives exactly once and in log
 * order — across a burst, a resume's replay and the live events after it — and the SDK
 * hands them to the application one by one, as if unbatched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChannelEvent, TetherClient } from '../../packages/client/src/index.ts';
import { compareEventIds, type EventFrame, type ServerFrame } from '../../src/shared/frames.ts';
import { configFile } from '../support/config-file.ts';
import { eventually, publishMany } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const ROOM = 'room:batched';
const DIGEST = 'digest:daily';
const BURST = 300;
const CONFIG = configFile({ namespaces: { digest: { batch: true } } });

let gw: TestGateway | undefined;
const raw: TestClient[] = [];
const sdks: TetherClient[] = [];

afterEach(async () => {
  for (const client of raw.splice(0)) client.drop();
  for (const sdk of sdks.splice(0)) sdk.disconnect();
  await gw?.stop();
  gw = undefined;
});

async function session(url: string, sub: string, channels: string[], hello: Record<string, unknown> = {}) {
  const token = await mintToken({ sub });
  const opened = await TestClient.session(url, { token, ...hello });
  raw.push(opened.client);
  for (const channel of channels) {
    opened.client.send({ type: 'subscribe', channel, ref: channel });
    await opened.client.next((f) => f.type === 'subscribed' && f.channel === channel);
  }
  return { ...opened, token };
}

const batches = (client: TestClient) =>
  client.frames.filter((f): f is Extract<ServerFrame, { type: 'batch' }> => f.type === 'batch');

/** Event IDs of `channel` as the client got them, batches unpacked in place. */
const delivered = (client: TestClient, channel: string) =>
  client.frames
    .flatMap((f) => (f.type === 'batch' ? f.frames : [f]))
    .filter((f): f is EventFrame => f.type === 'event' && f.channel === channel)
    .map((e) => e.id);

/** A client publishing `count` events as fast as it can write; their IDs in log order. */
async function burst(url: string, channel: string, count: number): Promise<string[]> {
  const publisher = await session(url, `publisher-${channel}`, []);
  for (let n = 0; n < count; n++)
    publisher.client.send({ type: 'publish', channel, ref: `p${n}`, data: { n } });
  await eventually(() => publisher.client.frames.filter((f) => f.type === 'ack').length === count, 'acks');
  return publisher.client.frames
    .filter((f) => f.type === 'ack')
    .map((f) => (f as { id: string }).id)
    .sort(compareEventIds);
}

describe('batched delivery', () => {
  it('asked in hello: bursts come in batch frames, every event once and in order, across a resume', async () => {
    gw = await startTestGateway({ MESSAGES_PER_SECOND: '0' });
    const batched = await session(gw.url, 'batched', [ROOM], { batch: true });
    const plain = await session(gw.url, 'plain', [ROOM]);

    const first = await burst(gw.url, ROOM, BURST);
    await eventually(() => delivered(batched.client, ROOM).length >= BURST, 'the burst, batched');
    await eventually(() => delivered(plain.client, ROOM).length >= BURST, 'the burst, unbatched');
    expect(delivered(batched.client, ROOM)).toEqual(first);
    expect(delivered(plain.client, ROOM)).toEqual(first);
    expect(batches(batched.client).some((b) => b.frames.length > 1)).toBe(true);
    expect(batches(plain.client)).toEqual([]);

    // Away for a while; the resume replays what it missed, then live events come batched again.
    batched.client.drop();
    const whileAway = await publishMany(gw.http, ROOM, 50);
    const resumed = await session(gw.url, 'batched', [], {
      batch: true,
      resume: {
        sessionId: batched.welcome.sessionId,
        resumeToken: batched.welcome.resumeToken,
        lastEventIds: { [ROOM]: first.at(-1) as string },
      },
    });
    expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
    const after = await burst(gw.url, ROOM, BURST);
    const expected = [...whileAway, ...after];
    await eventually(() => delivered(resumed.client, ROOM).length >= expected.length, 'replay, then live');
    expect(delivered(resumed.client, ROOM)).toEqual(expected);
  });

  it('a namespace with batch: true batches its channels only; the SDK hands out events one by one', async () => {
    gw = await startTestGateway({ MESSAGES_PER_SECOND: '0', CONFIG_FILE: CONFIG });
    const watcher = await session(gw.url, 'watcher', [DIGEST, ROOM]);
    const sdk = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'app' }) });
    sdks.push(sdk);
    sdk.connect();
    const got: Record<string, ChannelEvent[]> = { [DIGEST]: [], [ROOM]: [] };
    for (const channel of [DIGEST, ROOM]) {
      const subscription = sdk.subscribe(channel);
      subscription.on('publication', (event) => got[channel]?.push(event));
      await subscription.ready();
    }

    const digest = await burst(gw.url, DIGEST, BURST);
    const room = await burst(gw.url, ROOM, BURST);
    await eventually(() => (got[DIGEST]?.length ?? 0) >= BURST && (got[ROOM]?.length ?? 0) >= BURST, 'SDK');
    expect(got[DIGEST]?.map((e) => e.id)).toEqual(digest);
    expect(got[ROOM]?.map((e) => e.id)).toEqual(room);

    await eventually(() => delivered(watcher.client, ROOM).length >= BURST, 'the watcher');
    expect(delivered(watcher.client, DIGEST)).toEqual(digest);
    expect(delivered(watcher.client, ROOM)).toEqual(room);
    const batchedChannels = new Set(
      batches(watcher.client).flatMap((b) => b.frames.map((f) => (f as EventFrame).channel)),
    );
    expect([...batchedChannels]).toEqual([DIGEST]);
  });

  it('a turn holding more than MAX_MESSAGE_BYTES of events sends it in several batch frames, none longer', async () => {
    const maxMessageBytes = 16_384;
    gw = await startTestGateway({ MESSAGES_PER_SECOND: '0', MAX_MESSAGE_BYTES: String(maxMessageBytes) });
    const batched = await session(gw.url, 'batched', [ROOM], { batch: true });
    const lengths: number[] = [];
    batched.client.ws.on('message', (data: Buffer) => lengths.push(data.length));

    // 1 KB events published faster than one read takes them: each turn holds dozens.
    const publisher = await session(gw.url, 'publisher', []);
    const text = 'x'.repeat(1_000);
    for (let n = 0; n < BURST; n++)
      publisher.client.send({ type: 'publish', channel: ROOM, ref: `p${n}`, data: { n, text } });
    await eventually(() => publisher.client.frames.filter((f) => f.type === 'ack').length === BURST, 'acks');
    const published = publisher.client.frames
      .filter((f) => f.type === 'ack')
      .map((f) => (f as { id: string }).id)
      .sort(compareEventIds);

    await eventually(() => delivered(batched.client, ROOM).length >= BURST, 'the burst, batched');
    expect(delivered(batched.client, ROOM)).toEqual(published);
    expect(batches(batched.client).some((b) => b.frames.length > 1)).toBe(true);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(maxMessageBytes);
  });
});
