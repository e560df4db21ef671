/**
 * The handshake timeout names whoever ran it out. A socket that never sends hello is the
 * client's delay (HANDSHAKE_TIMEOUT, 4003: "send hello first"); a hello that arrived while
 * the gateway's own steps could not finish — here its Redis frozen, before the health
 * check has noticed — is the gateway's (SERVER_TIMEOUT, 1013: try again later). A reconnect
 * storm on an overloaded gateway used to tell thousands of clients that had sent hello at
 * once that they had not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { ErrorFrame, ServerFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

/** Well under the health check's first chance to call a frozen Redis down (a PING every 5 s, 2 s timeout). */
const HANDSHAKE_TIMEOUT_MS = 1000;

let redis: RedisServerHandle;
let gw: TestGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startTestGateway({ REDIS_URL: redis.url, HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS) });
});
afterAll(async () => {
  redis?.process.kill('SIGCONT');
  await gw?.stop();
  await redis?.stop();
});

const isError = (f: ServerFrame): f is ErrorFrame => f.type === 'error';

describe('a handshake that outlasts HANDSHAKE_TIMEOUT_MS', () => {
  it('is the client’s HANDSHAKE_TIMEOUT without a hello, and the gateway’s SERVER_TIMEOUT after one', async () => {
    const token = await mintToken({ sub: 'on-time' });
    const silent = await TestClient.connect(gw.url);
    const greeting = await TestClient.connect(gw.url);
    redis.process.kill('SIGSTOP');
    try {
      greeting.send({ type: 'hello', token });

      const refused = await greeting.next(isError, 5000);
      expect(refused).toMatchObject({ code: 'SERVER_TIMEOUT', retryable: true });
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(await greeting.waitClosed()).toMatchObject({ code: 1013, reason: 'SERVER_TIMEOUT' });

      expect(await silent.next(isError, 5000)).toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
      expect((await silent.waitClosed()).code).toBe(4003);
    } finally {
      redis.process.kill('SIGCONT');
    }
  });

  it('a hello answered in time is welcomed once Redis answers again', async () => {
    const { welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'after-thaw' }) });
    expect(welcome.sessionId).toEqual(expect.any(String));
  });
});
