/**
 * Channel logs no one publishes to do not stay in Redis. A subscribe or a history read
 * makes the channel's log, empty, to give positions an epoch (src/channels/log-scripts.ts);
 * such a log expires UNUSED_LOG_TTL_MS after its last read — so a client reading made-up
 * names cannot fill Redis — unless a gateway has subscribers on it, and the first event
 * makes it permanent. A quiet channel keeps its epoch: its subscribers never hear of a
 * loss that did not happen.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis/keys.ts';
import type { RedisConnection } from '../../src/redis/redis-target.ts';
import type { SubscribedFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { TestClient } from '../support/ws-client.ts';

const TTL_MS = 2000;
let gw: TestGateway;
let redis: RedisConnection;
const opened: TestClient[] = [];
const logKey = (channel: string) => redisKeys(gw.prefix).channel(channel);

beforeAll(async () => {
  gw = await startTestGateway({ UNUSED_LOG_TTL_MS: String(TTL_MS) });
  redis = connectTestRedis(gw.redisUrl);
});

afterAll(async () => {
  for (const client of opened) client.drop();
  await gw.stop();
  redis.disconnect();
});

async function subscriber(channel: string, position?: { from: string; epoch: string }) {
  const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: randomUUID() }) });
  opened.push(client);
  client.send({ type: 'subscribe', channel, ref: 's', ...position });
  const subscribed = await client.next((f): f is SubscribedFrame => f.type === 'subscribed');
  return { client, subscribed };
}

const historyOf = (channel: string) =>
  fetch(`${gw.http}/channels/${channel}/history`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });

describe('a log made by a read', () => {
  it('expires once no one reads it: subscribing to or reading made-up names leaves nothing behind', async () => {
    const subscribed = `made-up:${randomUUID()}`;
    const read = `made-up:${randomUUID()}`;
    const { client } = await subscriber(subscribed);
    expect((await historyOf(read)).status).toBe(200);
    for (const channel of [subscribed, read]) {
      const ttl = await redis.pttl(logKey(channel));
      expect(ttl, `${channel} is kept ${ttl} ms`).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TTL_MS);
    }
    client.close(); // no subscriber left: nothing keeps the log
    await eventually(
      async () => (await redis.exists(logKey(subscribed))) + (await redis.exists(logKey(read))) === 0,
      'both logs gone',
      5 * TTL_MS,
    );
  });

  it('outlives a quiet spell while subscribed, keeps its epoch, and the first event makes it permanent', async () => {
    const channel = `quiet:${randomUUID()}`;
    const first = await subscriber(channel);
    await sleep(2.5 * TTL_MS); // longer than an unread log lives
    expect(await redis.pttl(logKey(channel))).toBeGreaterThan(0);

    const id = await publishHttp(gw.http, channel, { n: 1 });
    await first.client.waitForEvents(1, channel);
    expect(first.client.closed, 'the subscriber was not told of a loss').toBeUndefined();
    expect(await redis.pttl(logKey(channel)), 'no TTL once it holds an event').toBe(-1);

    // A position taken before the quiet spell still belongs to the log's history.
    const later = await subscriber(channel, { from: first.subscribed.after, epoch: first.subscribed.epoch });
    expect(later.subscribed).toMatchObject({ recovered: true, epoch: first.subscribed.epoch });
    await later.client.waitForEvents(1, channel);
    expect(later.client.events(channel).map((e) => e.id)).toEqual([id]);
  });

  it('a log that holds events is never given a TTL by a read', async () => {
    const channel = `busy:${randomUUID()}`;
    await publishHttp(gw.http, channel, { n: 1 });
    await subscriber(channel);
    expect((await historyOf(channel)).status).toBe(200);
    expect(await redis.pttl(logKey(channel))).toBe(-1);
  });
});
