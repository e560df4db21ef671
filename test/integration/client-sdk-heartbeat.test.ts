/**
 * The SDK's heartbeat against a real gateway (real sockets, real Redis), with short periods:
 * - a client publishing past the gateway's message rate limit stays connected over many
 *   heartbeat periods. Its pings would be refused (MESSAGE_RATE_LIMITED, with no ref to tie the
 *   refusal to the ping); the gateway's answers — acks and refusals alike — prove it alive;
 * - a path that goes silent with its sockets open (a relay that stops forwarding: a half-open
 *   connection) is still found dead by HEARTBEAT_TIMEOUT, although the client keeps sending.
 */
import { randomUUID } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type StateChange, TetherClient, type TetherClientError } from '../../packages/client/src/index.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

const PING_MS = 200;
const PONG_MS = 400; // room for a busy box's event-loop stall
/** Frames per second per connection (bursts of 4): a publish every 40 ms is mostly refused. */
const RATE = 2;
const PUBLISH_EVERY_MS = 40;

let gw: TestGateway;
const clients: TetherClient[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ MESSAGES_PER_SECOND: String(RATE) });
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await gw?.stop();
});

function newClient(url: string): TetherClient {
  const client = new TetherClient({
    url,
    WebSocket,
    transport: 'websocket',
    getToken: () => mintToken({ sub: 'beater' }),
    pingIntervalMs: PING_MS,
    pongTimeoutMs: PONG_MS,
    backoffBaseMs: 100,
  });
  clients.push(client);
  return client;
}

/** Publish every PUBLISH_EVERY_MS until stopped; counts acks and refusals by code. */
function publishSteadily(client: TetherClient, channel: string) {
  const outcomes: Record<string, number> = {};
  const count = (key: string) => {
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  };
  const timer = setInterval(() => {
    client.publish(channel, { at: Date.now() }).then(
      () => count('acked'),
      (error: TetherClientError) => count(error.code),
    );
  }, PUBLISH_EVERY_MS);
  return { outcomes, stop: () => clearInterval(timer) };
}

/** A TCP relay to the gateway; `silence()` makes the connections so far drop every byte, left open. */
async function startRelay(port: number) {
  const open = new Set<Socket>();
  const muted = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.on('data', (chunk) => muted.has(from) || to.write(chunk));
      from.on('error', () => {});
      // A silent path carries no FIN either.
      from.on('close', () => muted.has(from) || to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`,
    silence: () => {
      for (const socket of open) muted.add(socket);
    },
    stop: () => {
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the SDK heartbeat', () => {
  it('keeps a connection busy at the rate limit: refusals prove it alive, no HEARTBEAT_TIMEOUT', async () => {
    const client = newClient(gw.url);
    client.connect();
    await client.ready();
    const changes: StateChange[] = [];
    const errors: string[] = [];
    client.on('state', (change) => changes.push(change));
    client.on('error', (error) => errors.push(error.code));

    const publisher = publishSteadily(client, `beat:${randomUUID().slice(0, 8)}`);
    await new Promise((resolve) => setTimeout(resolve, 8 * (PING_MS + PONG_MS)));
    publisher.stop();

    expect(publisher.outcomes.MESSAGE_RATE_LIMITED).toBeGreaterThan(0); // the limit was met
    expect(publisher.outcomes.acked).toBeGreaterThan(0);
    expect(errors).not.toContain('HEARTBEAT_TIMEOUT');
    expect(changes.map((c) => `${c.newState}:${c.error?.code}`)).toEqual([]);
    expect(client.stats()).toMatchObject({ state: 'connected', reconnections: 0, healthy: true });
  }, 20_000);

  it('still finds a silent path dead (HEARTBEAT_TIMEOUT) while the client keeps sending', async () => {
    const relay = await startRelay(gw.gateway.port);
    try {
      const client = newClient(relay.url);
      client.connect();
      await client.ready();
      const publisher = publishSteadily(client, `silent:${randomUUID().slice(0, 8)}`);
      const lost = new Promise<StateChange>((resolve) =>
        client.on('state', (change) => change.newState === 'reconnecting' && resolve(change)),
      );
      const silencedAt = Date.now();
      relay.silence();
      const change = await lost;
      publisher.stop();

      expect(change.error?.code).toBe('HEARTBEAT_TIMEOUT');
      // A ping once nothing was heard for PING_MS, then PONG_MS for anything to come back: the
      // heartbeat found it, not TCP (minutes). Slack for a loaded CI box, not a speed claim.
      expect(Date.now() - silencedAt).toBeLessThan(PING_MS + PONG_MS + 4000);
      await client.ready(); // a new connection through the relay (not silenced) resumes
      expect(client.stats()).toMatchObject({ state: 'connected', reconnections: 1 });
    } finally {
      await relay.stop();
    }
  }, 20_000);
});
