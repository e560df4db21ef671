/**
 * An append whose reply a lost connection took. ioredis would send every command left
 * unanswered again on the new connection (autoResendUnfulfilledCommands), so Redis would run
 * it twice: a keyless publish stored twice and acked once, or — the second send refused (OOM
 * under maxmemory) — told "the event was not written" when the first had written it. The
 * appends' connections fail such a command instead (src/redis/unanswered-on-drop.ts): the
 * publish hears the event may be in the log, and the log holds it once.
 */
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from '../support/events.ts';
import { startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';

/** A TCP proxy to Redis that can hold Redis's replies back, then drop every connection. */
class ReplyHoldingProxy {
  private holding = false;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly server: Server) {}

  static async start(target: number): Promise<{ proxy: ReplyHoldingProxy; port: number }> {
    const server = createServer();
    const proxy = new ReplyHoldingProxy(server);
    server.on('connection', (client) => {
      const redis = connect(target, '127.0.0.1');
      for (const socket of [client, redis]) {
        proxy.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => proxy.sockets.delete(socket));
      }
      client.on('data', (chunk) => redis.write(chunk));
      redis.on('data', (chunk) => proxy.holding || client.write(chunk));
      client.on('close', () => redis.destroy());
      redis.on('close', () => client.destroy());
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { proxy, port };
  }

  hold(): void {
    this.holding = true;
  }

  /** Every connection dropped with what it held; new ones are served again. */
  drop(): void {
    for (const socket of this.sockets) socket.destroy();
    this.holding = false;
  }

  stop(): Promise<void> {
    this.drop();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let server: RedisServerHandle;
let redis: Redis;
let proxy: ReplyHoldingProxy;
let gw: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  const started = await ReplyHoldingProxy.start(server.port);
  proxy = started.proxy;
  gw = await startTestGateway({ REDIS_URL: `redis://127.0.0.1:${started.port}` });
});

afterAll(async () => {
  await gw?.stop();
  await proxy?.stop();
  redis?.disconnect();
  await server?.stop();
});

const publish = (channel: string, data: unknown) =>
  fetch(`${gw.http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });

/** Hold Redis's replies, publish, wait until Redis has written it, then drop every connection. */
async function publishThenDrop(
  channel: string,
  logKey: string,
  before: number,
  whileDropping?: () => Promise<unknown>,
) {
  proxy.hold();
  const answer = publish(channel, { n: before + 1 });
  await eventually(async () => (await redis.xlen(logKey)) === before + 1, 'the append');
  await whileDropping?.();
  proxy.drop();
  return (await (await answer).json()) as { error?: string; message?: string; id?: string };
}

describe('an append whose reply a lost connection took', () => {
  it('is not run again: the log holds it once, and the publish hears it may be there', async () => {
    const channel = `dropped:${randomUUID().slice(0, 8)}`;
    expect((await publish(channel, { n: 1 })).status).toBe(200);
    const [logKey] = await redis.keys(`${gw.prefix}*${channel}*`);
    const body = await publishThenDrop(channel, logKey as string, 1);
    expect(body.error).toBe('STORE_UNAVAILABLE');
    expect(body.message).toMatch(/may be in the log/);
    // Once the gateway is back on Redis, the next publish is the third event, not the fourth.
    await eventually(
      async () => (await publish(channel, { n: 3 })).status === 200,
      'a publish after the drop',
    );
    expect(await redis.xlen(logKey as string)).toBe(3);
  });

  it('with Redis refusing writes after the drop (OOM), is not said to be unwritten: the first send wrote it', async () => {
    const channel = `resent:${randomUUID().slice(0, 8)}`;
    expect((await publish(channel, { n: 1 })).status).toBe(200);
    const [logKey] = await redis.keys(`${gw.prefix}*${channel}*`);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    const body = await publishThenDrop(channel, logKey as string, 1, () =>
      redis.config('SET', 'maxmemory', '1'),
    ).finally(() => redis.config('SET', 'maxmemory', '0'));
    expect(await redis.xlen(logKey as string)).toBe(2);
    expect(body.error).toBe('STORE_UNAVAILABLE');
    expect(body.message).not.toMatch(/not written/);
    expect(body.message).toMatch(/may be in the log/);
  });
});
