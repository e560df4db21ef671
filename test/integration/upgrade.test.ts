/**
 * The WebSocket upgrade (src/edge/ws-endpoint.ts): an `x-correlation-id` header is
 * held to the hello field's rule (1–128 characters) — a bad one is replaced by a
 * generated ID, the connection still opens — and an exception while upgrading is
 * answered with 500 for that request instead of taking the process down — and the same for
 * the SSE fallback's `GET /sse` (issue 17), which opens a connection as an upgrade does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let gw: TestGateway | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await gw?.stop();
  gw = undefined;
});

async function welcomeWith(
  transport: Transport,
  headers: Record<string, string>,
  hello: Record<string, unknown> = {},
) {
  const client = await TestClient.connect(endpoint(gw as TestGateway, transport), headers);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub: 'tracer' }), ...hello });
  return client.next((f): f is WelcomeFrame => f.type === 'welcome');
}

describe.each(TRANSPORTS)('x-correlation-id on the upgrade, over %s', (transport: Transport) => {
  it('a valid one is the connection’s correlation ID', async () => {
    gw = await startTestGateway();
    expect((await welcomeWith(transport, { 'x-correlation-id': 'order-7f3a' })).correlationId).toBe(
      'order-7f3a',
    );
    const longest = 'c'.repeat(128);
    expect((await welcomeWith(transport, { 'x-correlation-id': longest })).correlationId).toBe(longest);
  });

  it('one past 128 characters is replaced by a generated ID, or by the hello’s own', async () => {
    gw = await startTestGateway();
    const tooLong = 'c'.repeat(129);
    expect((await welcomeWith(transport, { 'x-correlation-id': tooLong })).correlationId).toMatch(UUID);
    const fromHello = await welcomeWith(
      transport,
      { 'x-correlation-id': tooLong },
      { correlationId: 'from-hello' },
    );
    expect(fromHello.correlationId).toBe('from-hello');
  });
});

describe.each(TRANSPORTS)('a failure inside the upgrade, over %s', (transport: Transport) => {
  it('is answered 500 for that request; the gateway keeps serving', async () => {
    gw = await startTestGateway();
    const { config } = gw.gateway.core;
    const limits = config.limits;
    // Fault injection: the next read of the limits during an upgrade throws.
    Object.defineProperty(config, 'limits', {
      configurable: true,
      get() {
        throw new Error('injected fault');
      },
    });
    try {
      await expect(TestClient.connect(endpoint(gw, transport))).rejects.toThrow(/500/);
    } finally {
      Object.defineProperty(config, 'limits', { configurable: true, writable: true, value: limits });
    }
    expect((await welcomeWith(transport, {})).userId).toBe('tracer');
  });
});
