/**
 * An append whose reply a lost connection took: ioredis sends every command left unanswered
 * again on the new connection (autoResendUnfulfilledCommands), so Redis may run it twice.
 * A refusal of the second send (OOM under maxmemory, MISCONF, LOADING) says nothing about
 * the first, which may have written the event: the publish must not be told "the event was
 * not written", or a client without an idempotency key publishes it again and it is stored
 * twice.
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

describe('an append sent again after a lost connection', () => {
  it('refused the second time (OOM), is not said to be unwritten when the first wrote it', async () => {
    const channel = `resent:${randomUUID().slice(0, 8)}`;
    const key = `${gw.prefix}:ch:${channel}`;
    expect((await publish(channel, { n: 1 })).status).toBe(200); // the script is cached
    const stored = async () => (await redis.keys(`${gw.prefix}*${channel}*`)).length;
    expect(await stored()).toBe(1);
    const [logKey] = await redis.keys(`${gw.prefix}*${channel}*`);

    proxy.hold();
    const answer = publish(channel, { n: 2 });
    await eventually(async () => ((await redis.xlen(logKey ?? key)) === 2 ? true : undefined), 'the append');
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    let body: { error?: string; message?: string };
    try {
      proxy.drop();
      body = (await (await answer).json()) as typeof body;
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }

    expect(await redis.xlen(logKey ?? key)).toBe(2); // the first send wrote it
    expect(body.error).toBe('STORE_UNAVAILABLE');
    expect(body.message).not.toMatch(/not written/);
    expect(body.message).toMatch(/may be in the log/);
  });
});
