/**
 * Redis loses its data (FLUSHALL here; a restart without persistence alike) under connected
 * clients: each client is told once, by one SERVICE_RESTART, that the history it held is
 * gone — not once more, on the connection it resumed on, when the loss is found again on
 * another of its channels.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { SubscribedFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { lastId, publishMany, sleep } from '../support/events.ts';
import { mintToken, startTestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function subscribe(client: TestClient, channel: string, position?: { from: string; epoch?: string }) {
  const ref = randomUUID().slice(0, 8);
  client.send({ type: 'subscribe', channel, ref, ...position });
  return (await client.next((f) => f.type === 'subscribed' && f.ref === ref)) as SubscribedFrame;
}

const restarts = (client: TestClient) =>
  client.frames.filter((f) => f.type === 'error' && f.code === 'SERVICE_RESTART');

describe.runIf(inject('redisTopology') === 'standalone')(
  'Redis loses its data under connected clients',
  () => {
    it('a client on two channels is told once; the connection it comes back on is not closed again when the other channel’s loss is found', async () => {
      const redisServer = await startRedisServer();
      cleanups.push(() => redisServer.stop());
      const gw = await startTestGateway({ REDIS_URL: redisServer.url });
      cleanups.push(() => gw.stop());
      const [a, b] = [`once-a:${randomUUID().slice(0, 8)}`, `once-b:${randomUUID().slice(0, 8)}`];

      const x = await TestClient.session(gw.url, { token: await mintToken({ sub: 'x' }) });
      cleanups.push(() => x.client.drop());
      const positions = { [a]: await subscribe(x.client, a), [b]: await subscribe(x.client, b) };
      // Another reader of `b` on this process: it keeps the process reading `b` throughout.
      const y = await TestClient.session(gw.url, { token: await mintToken({ sub: 'y' }) });
      cleanups.push(() => y.client.drop());
      await subscribe(y.client, b);
      const seen = { [a]: await publishMany(gw.http, a, 2), [b]: await publishMany(gw.http, b, 2) };
      await x.client.waitForEvents(4);
      await y.client.waitForEvents(2);

      const redis = new Redis(redisServer.url);
      cleanups.push(() => redis.quit());
      await redis.flushall();
      await publishMany(gw.http, a, 1); // `a`'s log made anew: its readers hear of the loss

      expect(await x.client.next((f) => f.type === 'error', 10_000)).toMatchObject({
        code: 'SERVICE_RESTART',
      });
      expect((await x.client.waitClosed(10_000)).code).toBe(1012);

      // X comes back as a client does: resume (the session went with the data), then its channels
      // from where it was, each told recovered:false under the log's new epoch.
      const back = await TestClient.connect(gw.url);
      cleanups.push(() => back.drop());
      back.send({
        type: 'hello',
        token: await mintToken({ sub: 'x' }),
        resume: {
          sessionId: x.welcome.sessionId,
          resumeToken: x.welcome.resumeToken,
          lastEventIds: { [a]: lastId(seen[a] as string[]), [b]: lastId(seen[b] as string[]) },
          epochs: { [a]: positions[a]?.epoch, [b]: positions[b]?.epoch },
        },
      });
      await back.next((f): f is WelcomeFrame => f.type === 'welcome');
      for (const channel of [a, b]) {
        const again = await subscribe(back, channel, {
          from: lastId(seen[channel] as string[]),
          epoch: positions[channel]?.epoch,
        });
        expect(again.recovered, channel).toBe(false);
      }

      // `b`'s loss is found by this process's reader now: Y, who was not told yet, is; X was.
      const later = await publishMany(gw.http, b, 1);
      expect(await y.client.next((f) => f.type === 'error', 10_000)).toMatchObject({
        code: 'SERVICE_RESTART',
      });
      await back.waitForEvents(1, b);
      await sleep(500);
      expect(restarts(back)).toEqual([]);
      expect(back.closed).toBeUndefined();
      expect(back.events(b).map((e) => e.id)).toEqual(later);
    }, 60_000);
  },
);
