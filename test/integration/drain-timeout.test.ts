/**
 * A drain that runs out of time (DRAIN_TIMEOUT_MS) on a busy process: the clients its
 * batches had not reached yet are still told why — SERVICE_RESTART with a jittered
 * `retryAfterMs`, close 1012 — not dropped with an abnormal 1006.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorFrame } from '../../src/shared/frames.ts';
import { inBatches } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import { CROWD_LIMITS_OFF } from '../support/gateway-process.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const CLIENTS = 200;
const gateways: LoggedGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop().catch(() => {})));
});

/**
 * Other work sharing the event loop, as on a loaded box: a few ms of CPU in each turn for
 * `forMs`. The drain yields a turn between batches, so with batches of one it cannot reach
 * every client within a 100 ms timeout.
 */
function busyLoop(forMs: number): Promise<void> {
  const until = Date.now() + forMs;
  return new Promise((resolve) => {
    const turn = () => {
      const spinUntil = Date.now() + 3;
      while (Date.now() < spinUntil) {}
      if (Date.now() < until) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
}

describe('drain past DRAIN_TIMEOUT_MS', () => {
  it('every client still gets SERVICE_RESTART and 1012, those the batches had not reached too', async () => {
    const test = await startLoggedGateway({
      ...CROWD_LIMITS_OFF,
      DRAIN_TIMEOUT_MS: '100',
      DRAIN_BATCH_SIZE: '1',
    });
    gateways.push(test);
    const token = await mintToken({ sub: 'crowd' });
    const sessions = await inBatches(CLIENTS, 50, async () => {
      const session = await TestClient.session(test.url, { token });
      clients.push(session.client);
      return session.client;
    });

    const busy = busyLoop(1000);
    await test.gateway.shutdown();
    await busy;

    const ends = await Promise.all(sessions.map((client) => client.waitClosed(10_000)));
    const codes = new Map<number, number>();
    for (const { code } of ends) codes.set(code, (codes.get(code) ?? 0) + 1);
    expect(Object.fromEntries(codes)).toEqual({ 1012: CLIENTS });
    for (const client of sessions) {
      const error = client.frames.find((f): f is ErrorFrame => f.type === 'error');
      expect(error).toMatchObject({ code: 'SERVICE_RESTART', retryable: true });
      expect(error?.retryAfterMs).toBeGreaterThan(0);
    }
    // The timeout did pass with clients left: the case under test.
    const timedOut = test.lines().find((line) => line.msg.startsWith('drain timed out'));
    expect(timedOut?.sockets).toBeGreaterThan(0);
  });
});
