/**
 * GET /dashboard/history, the five minutes a dashboard opens with, carries the gateway's own
 * gauges — connections by state, open sockets, pool state, admission queue — not only the
 * process-wide counters: those gauges live in each gateway's registry (gateway-metrics.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolSample } from '../../src/pages/dashboard/pool-sample.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

async function newestSample(): Promise<PoolSample | undefined> {
  const res = await fetch(`${gw.http}/dashboard/history`);
  const { samples } = (await res.json()) as { samples: PoolSample[] };
  return samples.at(-1);
}

describe('dashboard history', () => {
  it('records the connections, sockets, pool state and queue of this gateway', async () => {
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'dash' }) });
    let sample: PoolSample | undefined;
    for (let tries = 0; tries < 40 && !sample?.byState.connected; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sample = await newestSample();
    }
    client.ws.close();
    expect(sample?.byState.connected).toBeGreaterThanOrEqual(1);
    expect(sample?.sockets).toBeGreaterThanOrEqual(1);
    expect(sample?.poolState).toBe('accepting');
    expect(sample?.queueDepth).toBe(0);
  });
});
