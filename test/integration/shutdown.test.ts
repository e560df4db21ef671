/**
 * A gateway process's life at its edges (issue 2, "What must exist"): SIGTERM
 * drains clients with SERVICE_RESTART / 1012 and exits 0, and those clients resume
 * on another process without loss; start-up refuses a production run without
 * auth and a bad configuration value, naming the variable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, lastId, PublishLoop, settle } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  runToExit,
  spawnGateway,
} from '../support/gateway-process.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CLIENTS = 3;
const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];
let loop: PublishLoop | undefined;
const redisServers: RedisServerHandle[] = [];

afterEach(async () => {
  await loop?.stop().catch(() => {});
  loop = undefined;
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  await Promise.all(redisServers.splice(0).map((r) => r.stop()));
});

describe('SIGTERM', () => {
  it(
    'closes clients with SERVICE_RESTART and 1012, exits 0, and they resume elsewhere without loss',
    async () => {
      const env = processEnv();
      const [leaving, staying] = await Promise.all([
        spawnGateway(env),
        spawnGateway(processEnv({ REDIS_PREFIX: env.REDIS_PREFIX as string })),
      ]);
      processes.push(leaving, staying);
      const channel = 'shutdown:room';
      const token = await mintToken({ sub: 'patient' });

      const first: { client: TestClient; welcome: WelcomeFrame }[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const session = await TestClient.session(leaving.url, { token });
        clients.push(session.client);
        session.client.send({ type: 'subscribe', channel, ref: 'sub' });
        await session.client.next((f) => f.type === 'subscribed');
        first.push(session);
      }
      // The backend keeps publishing through the process that stays, before, during and after the drain.
      const publisher = new PublishLoop(() => staying.http, channel, { pauseMs: 5 });
      loop = publisher;
      await Promise.all(first.map(({ client }) => client.waitForEvents(10)));

      const exit = leaving.kill('SIGTERM');
      for (const { client, welcome } of first) {
        const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
        expect(error).toMatchObject({
          code: 'SERVICE_RESTART',
          category: 'system',
          retryable: true,
          correlationId: welcome.correlationId,
        });
        expect((await client.waitClosed()).code).toBe(1012);
      }
      expect(await exit).toMatchObject({ code: 0, signal: null });

      const resumed: TestClient[] = [];
      for (const { client, welcome } of first) {
        const session = await TestClient.session(staying.url, {
          token,
          resume: {
            sessionId: welcome.sessionId,
            resumeToken: welcome.resumeToken,
            lastEventIds: { [channel]: lastId(ids(client.events())) },
          },
        });
        clients.push(session.client);
        expect(session.welcome).toMatchObject({
          sessionId: welcome.sessionId,
          resumed: true,
          recovered: true,
        });
        resumed.push(session.client);
      }
      await Promise.all(resumed.map((client) => client.waitForEvents(10)));
      const published = await publisher.stop();

      for (const [i, { client }] of first.entries()) {
        const before = ids(client.events());
        const after = resumed[i] as TestClient;
        await after.waitForEvents(published.length - before.length);
        await settle(after);
        expect([...before, ...ids(after.events())]).toEqual(published);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('SIGTERM while Redis is down', () => {
  it(
    'still closes clients with 1012 and exits 0',
    async () => {
      const redis = await startRedisServer();
      redisServers.push(redis);
      const gateway = await spawnGateway(processEnv({ REDIS_URL: redis.url }));
      processes.push(gateway);
      const { client } = await TestClient.session(gateway.url, {
        token: await mintToken({ sub: 'stranded' }),
      });
      clients.push(client);
      client.send({ type: 'subscribe', channel: 'shutdown:outage', ref: 'sub' });
      await client.next((f) => f.type === 'subscribed');

      redis.process.kill('SIGKILL');
      await redis.stop();
      await eventually(
        () => fetch(`${gateway.http}/readyz`).then((res) => res.status === 503),
        'the gateway to notice Redis is gone',
      );
      const exit = gateway.kill('SIGTERM');
      expect((await client.waitClosed()).code).toBe(1012);
      expect(await exit).toMatchObject({ code: 0, signal: null });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('SIGTERM while Redis is frozen and not yet noticed', () => {
  it(
    'still closes clients with 1012 and exits 0 before the grace runs out, saying why Redis is not waited for',
    async () => {
      const redis = await startRedisServer();
      redisServers.push(redis);
      // The last resort (src/main.ts) exits 1 at DRAIN_TIMEOUT_MS + 5 s: 10 s here.
      const gateway = await spawnGateway(processEnv({ REDIS_URL: redis.url, DRAIN_TIMEOUT_MS: '5000' }));
      processes.push(gateway);
      const { client } = await TestClient.session(gateway.url, {
        token: await mintToken({ sub: 'frozen-out' }),
      });
      clients.push(client);
      client.send({ type: 'subscribe', channel: 'shutdown:frozen', ref: 'sub' });
      await client.next((f) => f.type === 'subscribed');

      // Frozen, not gone: the connection stays open and nothing answers (a partition looks
      // the same). The health check (src/redis/store-health.ts) has not noticed it yet.
      redis.process.kill('SIGSTOP');
      try {
        const exit = gateway.kill('SIGTERM');
        expect((await client.waitClosed()).code).toBe(1012);
        expect(await exit).toMatchObject({ code: 0, signal: null });
        expect(gateway.logs().some((line) => line.msg === 'redis not answering; not waiting for it')).toBe(
          true,
        );
      } finally {
        redis.process.kill('SIGCONT');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('a second signal during the drain', () => {
  it(
    'exits 1 at once and says so in the log',
    async () => {
      const redis = await startRedisServer();
      redisServers.push(redis);
      const gateway = await spawnGateway(processEnv({ REDIS_URL: redis.url }));
      processes.push(gateway);
      const { client } = await TestClient.session(gateway.url, { token: await mintToken({ sub: 'twice' }) });
      clients.push(client);
      // A frozen Redis holds the drain for a while (its waits end after about a second each).
      redis.process.kill('SIGSTOP');
      try {
        const exit = gateway.kill('SIGTERM');
        await client.waitClosed();
        gateway.child.kill('SIGINT');
        expect(await exit).toMatchObject({ code: 1, signal: null });
        expect(gateway.logs().find((line) => line.msg === 'second signal; exiting now')).toMatchObject({
          signal: 'SIGINT',
        });
      } finally {
        redis.process.kill('SIGCONT');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('start-up refusals', () => {
  it(
    'NODE_ENV=production without auth configured exits 2 naming AUTH_JWT_SECRET',
    async () => {
      const env = processEnv({ NODE_ENV: 'production' });
      delete env.AUTH_JWT_SECRET;
      const exit = await runToExit(env);
      expect(exit.code).toBe(2);
      expect(exit.stderr).toContain('AUTH_JWT_SECRET');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a bad value (PORT=abc) stops start-up naming the variable',
    async () => {
      const exit = await runToExit(processEnv({ PORT: 'abc' }));
      expect(exit.code).toBe(2);
      expect(exit.stderr).toMatch(/PORT="abc"/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
