/**
 * A Redis that stops answering without dropping the connection (a frozen
 * process, a stalled host): ioredis still says `ready`, so only the periodic
 * PING, raced against its timeout, notices. The gateway then reports Redis down
 * (`tether_redis_up` 0, `/readyz` 503, `/health/websocket` unhealthy), records the
 * timeout as a slow round trip, and recovers as soon as Redis answers again.
 * The Redis here is this test's own, frozen with SIGSTOP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from '../support/events.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

let redis: RedisServerHandle;
let gw: TestGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startTestGateway({ REDIS_URL: redis.url });
});
afterAll(async () => {
  redis?.process.kill('SIGCONT');
  await gw?.stop();
  await redis?.stop();
});

async function scrape() {
  return parsePrometheusText(await (await fetch(`${gw.http}/metrics`)).text());
}

const admin = { authorization: 'Bearer test-admin-key-0123456789' };

describe('a Redis that stops answering', () => {
  it('is reported down while frozen, with the timeout as a slow round trip, and up once it answers', async () => {
    await eventually(
      async () => sampleValue(await scrape(), 'tether_redis_roundtrip_seconds_count') >= 1,
      'a first PING measured',
    );
    expect((await fetch(`${gw.http}/readyz`)).status).toBe(200);
    const before = await scrape();

    redis.process.kill('SIGSTOP');
    try {
      // The next PING (every 5 s) goes unanswered for its 2 s timeout.
      const frozen = await eventually(
        async () => {
          const exposition = await scrape();
          return sampleValue(exposition, 'tether_redis_up') === 0 ? exposition : undefined;
        },
        'tether_redis_up 0',
        15_000,
      );
      const slow = (name: string) => sampleValue(frozen, name) - sampleValue(before, name);
      expect(slow('tether_redis_roundtrip_seconds_count')).toBe(1);
      // A difference of two float sums: 2 s observed can read back as 1.9999999999999998.
      expect(slow('tether_redis_roundtrip_seconds_sum')).toBeGreaterThanOrEqual(2 - 1e-9);
      const ready = await fetch(`${gw.http}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, redis: false });
      const health = await fetch(`${gw.http}/health/websocket`, { headers: admin });
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'unhealthy', redis: { status: 'not responding' } });
    } finally {
      redis.process.kill('SIGCONT');
    }

    await eventually(
      async () => sampleValue(await scrape(), 'tether_redis_up') === 1,
      'tether_redis_up 1 again',
      15_000,
    );
    expect((await fetch(`${gw.http}/readyz`)).status).toBe(200);
  });
});
