/**
 * `disconnect()` on a client whose attempts ran out (`failed.exhausted`) stops it
 * (machines/client.machine.ts): it is `closed`, and the readiness probe no longer brings it
 * back once the gateway is up (docs/client.md, the states table).
 */
import { afterEach, expect, it } from 'vitest';
import { type StateChange, TetherClient } from '../../packages/client/src/index.ts';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let gateway: TestGateway | undefined;
afterEach(() => gateway?.stop());

it('a client stopped while exhausted stays closed when the gateway comes back', async () => {
  const port = await freePort();
  const token = await mintToken({ sub: 'stopped-while-exhausted' });
  const client = new TetherClient({
    url: `ws://127.0.0.1:${port}/ws`,
    token,
    maxReconnectAttempts: 1,
    backoffBaseMs: 50,
    backoffMaxMs: 50,
    probeIntervalMs: 200,
  });
  const states: StateChange['newState'][] = [];
  client.on('state', ({ newState }) => states.push(newState));
  client.connect();
  for (let i = 0; i < 100 && client.state !== 'failed'; i++) await sleep(50);
  expect(client.detailedState).toEqual({ failed: { exhausted: 'resting' } });

  client.disconnect();
  expect(client.state).toBe('closed');
  gateway = await startTestGateway({ PORT: String(port) });
  await sleep(1500); // several probe periods
  expect(client.state).toBe('closed');
  expect(states).not.toContain('connected');
  client.disconnect();
});
