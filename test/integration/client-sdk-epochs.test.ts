/**
 * The SDK when Redis loses everything (issue 10: "the client SDK stores the epoch and surfaces
 * the gap to the application"), against a real gateway on a real redis-server that is
 * SIGKILLed and restarted empty on the same port (no persistence, or a lost disk):
 * - with the SDK away (its reconnects refused) while it happens, holding a position *above*
 *   every ID the new log will hand out (an event appended by a clock far ahead) — the SDK must
 *   not drop the new history's lower IDs as "already seen";
 * - with the SDK connected through it (the gateway closes the socket so the client resumes).
 * Either way the application hears `recovered: false` once for the channel, with the new
 * epoch, and then gets every new event exactly once, in order.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type ChannelEvent,
  type RecoveredNotice,
  type SubscriptionRecovered,
  TetherClient,
  type WebSocketConstructor,
} from '../../packages/client/src/index.ts';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually, publishMany } from '../support/events.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A redis-server, and a gateway on it, both stopped after the test. */
async function redisAndGateway() {
  const redis = { server: await startRedisServer() };
  cleanups.push(() => redis.server.stop());
  const gw = await startTestGateway({ REDIS_URL: redis.server.url });
  cleanups.push(() => gw.stop());
  return { redis, gw };
}

/** Redis dies (SIGKILL, nothing persisted) and comes back empty on the same port. */
async function loseEverything(redis: { server: RedisServerHandle }, gw: TestGateway) {
  redis.server.process.kill('SIGKILL');
  await redis.server.stop();
  redis.server = await startRedisServer({ port: redis.server.port });
  const ready = () =>
    fetch(`${gw.http}/readyz`)
      .then((res) => res.status === 200)
      .catch(() => false);
  await eventually(ready, 'the gateway back on the new Redis', 20_000);
}

/** A WebSocket the test can cut, and whose reconnects it can refuse for a while. */
function gatedWebSocket(refusedUrl: string) {
  const gate = { closed: false, current: undefined as WebSocket | undefined };
  class Gated extends WebSocket {
    constructor(url: string) {
      super(gate.closed ? refusedUrl : url);
      gate.current = this;
    }
  }
  return { gate, Gated };
}

function sdkClient(gw: TestGateway, WebSocketImpl: WebSocketConstructor = WebSocket) {
  const client = new TetherClient({
    url: gw.url,
    WebSocket: WebSocketImpl,
    getToken: () => mintToken({ sub: 'epochs' }),
    backoffBaseMs: 100,
    backoffMaxMs: 500,
  });
  cleanups.push(() => client.disconnect());
  const global: RecoveredNotice[] = [];
  client.on('recovered', (notice) => global.push(notice));
  return { client, global };
}

function watch(subscription: ReturnType<TetherClient['subscribe']>) {
  const publications: ChannelEvent[] = [];
  const notices: SubscriptionRecovered[] = [];
  subscription.on('publication', (e) => publications.push(e));
  subscription.on('recovered', (n) => notices.push(n));
  return { publications, notices };
}

const gapsOn = (global: RecoveredNotice[], channel: string) =>
  global.flatMap((n) => n.channels).filter((c) => c.channel === channel && !c.recovered);

describe('the SDK when Redis restarts empty', () => {
  it('while it is away, above the new IDs: recovered:false once, then every new event once', async () => {
    const { redis, gw } = await redisAndGateway();
    const channel = `epochs-away:${randomUUID().slice(0, 8)}`;
    const old = await publishMany(gw.http, channel, 2);
    // An event from a clock far ahead: every ID of the log that replaces this one is lower.
    const ahead = new Redis(redis.server.url);
    await ahead.xadd(
      `${gw.prefix}:{c:${channel}}`,
      '9999999999999-0',
      'd',
      '{"ahead":true}',
      't',
      '1',
      'c',
      't',
    );
    ahead.disconnect();

    const { gate, Gated } = gatedWebSocket(`ws://127.0.0.1:${await freePort()}/ws`);
    const { client, global } = sdkClient(gw, Gated);
    client.connect();
    const room = client.subscribe(channel, { since: { id: '0-0' } });
    const seen = watch(room);
    await eventually(() => seen.publications.length === 3, 'the old log replayed');
    expect(seen.publications.map((e) => e.id)).toEqual([...old, '9999999999999-0']);
    const oldEpoch = room.position?.epoch;
    expect(oldEpoch).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    // Subscribing from a position is answered with a notice too: the whole log was there.
    expect(seen.notices.splice(0)).toEqual([
      { recovered: true, after: '0-0', epoch: oldEpoch, resumed: false },
    ]);

    gate.closed = true; // away: the socket drops and reconnects are refused
    gate.current?.terminate();
    await eventually(() => client.state === 'reconnecting', 'the SDK noticing the drop');
    await loseEverything(redis, gw);
    const fresh = await publishMany(gw.http, channel, 3);
    gate.closed = false;

    await eventually(() => seen.publications.length >= 6, 'the new events', 20_000);
    const marker = await publishHttp(gw.http, channel, { marker: true }); // anything late shows before it
    await eventually(() => seen.publications.at(-1)?.id === marker, 'the marker');
    expect(seen.publications.slice(3).map((e) => e.id)).toEqual([...fresh, marker]);
    expect(seen.notices).toEqual([
      { recovered: false, after: '0-0', epoch: expect.any(String), resumed: false },
    ]);
    const newEpoch = seen.notices[0]!.epoch;
    expect(newEpoch).not.toBe(oldEpoch);
    expect(gapsOn(global, channel)).toEqual([{ channel, recovered: false, after: '0-0', epoch: newEpoch }]);
    expect(room.position).toEqual({ id: marker, epoch: newEpoch });
    expect(client.stats().duplicatesDropped).toBe(0);
  }, 60_000);

  it('while it is connected: closed to resume, recovered:false once, then every new event once', async () => {
    const { redis, gw } = await redisAndGateway();
    const channel = `epochs-live:${randomUUID().slice(0, 8)}`;
    const { client, global } = sdkClient(gw);
    const states: string[] = [];
    client.on('state', ({ newState }) => states.push(newState));
    client.connect();
    const room = client.subscribe(channel);
    const seen = watch(room);
    await room.ready();
    const old = await publishMany(gw.http, channel, 3);
    await eventually(() => seen.publications.length === 3, 'the first events');
    const oldEpoch = room.position?.epoch;

    await loseEverything(redis, gw);
    const fresh = await publishMany(gw.http, channel, 2);
    await eventually(() => seen.publications.length >= 5, 'the new events', 20_000);
    const marker = await publishHttp(gw.http, channel, { marker: true });
    await eventually(() => seen.publications.at(-1)?.id === marker, 'the marker');

    expect(seen.publications.map((e) => e.id)).toEqual([...old, ...fresh, marker]);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    const gaps = seen.notices.filter((n) => !n.recovered);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.epoch).not.toBe(oldEpoch);
    expect(gapsOn(global, channel)).toHaveLength(1);
    expect(room.position).toEqual({ id: marker, epoch: gaps[0]!.epoch });
  }, 60_000);
});
