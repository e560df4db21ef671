/**
 * The SDK's offline queue and idempotent publishes against a real gateway (real sockets, real
 * Redis), read back from the channel's log over HTTP:
 * - a queue several times the gateway's burst (MESSAGES_PER_SECOND set low), with live publishes
 *   made while it drains, is stored exactly once and in order although the limit was met;
 * - a queued publish whose ack is lost — with the socket, or alone (REQUEST_TIMEOUT) — is sent
 *   again with its key, after the reconnect or at once, and stored once;
 * - `publish(channel, data, { idempotencyKey })` twice is stored once, the second ack `duplicate`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PublishAck, TetherClient } from '../../packages/client/src/index.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

const RATE = 25; // frames per second per connection, bursts of 50
const QUEUED = 150;
const LIVE = 10;

let gw: TestGateway;
const clients: TetherClient[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ MESSAGES_PER_SECOND: String(RATE) });
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await gw?.stop();
});

function newClient(WebSocketImpl = WebSocket, options: { publishTimeoutMs?: number } = {}): TetherClient {
  const client = new TetherClient({
    url: gw.url,
    WebSocket: WebSocketImpl,
    getToken: () => mintToken({ sub: 'queuer' }),
    backoffBaseMs: 100,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The channel's whole log, as the gateway stored it. */
async function stored(channel: string): Promise<{ id: string; data: unknown }[]> {
  const res = await fetch(`${gw.http}/channels/${channel}/history?limit=1000`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: { id: string; data: unknown }[] }).events;
}

async function refusedForRate(): Promise<number> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), 'tether_errors_total', { code: 'MESSAGE_RATE_LIMITED' });
}

describe('the offline queue through the gateway’s rate limit', () => {
  it('stores every queued publish once and in order, and the live ones made meanwhile after them', async () => {
    const refusedBefore = await refusedForRate();
    const channel = `queue:${randomUUID().slice(0, 8)}`;
    const client = newClient();
    const acks: Promise<PublishAck>[] = [];
    for (let n = 0; n < QUEUED; n++) acks.push(client.publish(channel, { n }));
    client.connect();
    await client.ready(); // the flush has begun
    for (let n = QUEUED; n < QUEUED + LIVE; n++) acks.push(client.publish(channel, { n }));

    const ids = (await Promise.all(acks)).map((ack) => ack.id);
    const log = await stored(channel);
    expect(log.map((e) => e.data)).toEqual(Array.from({ length: QUEUED + LIVE }, (_, n) => ({ n })));
    expect(log.map((e) => e.id)).toEqual(ids);
    // The limit was met: without the SDK sending refused frames again, some would be missing.
    expect(await refusedForRate()).toBeGreaterThan(refusedBefore);
  }, 60_000);
});

describe('idempotent publishes', () => {
  // The network loses the first ack: with the socket (a reconnect follows), or alone (a timeout).
  it.each(['with the socket', 'on a live socket'] as const)(
    'a queued publish whose ack was lost %s is sent again with its key: stored once',
    async (how) => {
      let lost = 0;
      class LosesFirstAck extends WebSocket {
        override emit(event: string | symbol, ...args: unknown[]): boolean {
          if (event === 'message' && lost === 0 && String(args[0]).includes('"type":"ack"')) {
            lost++;
            if (how === 'with the socket') this.terminate();
            return true;
          }
          return super.emit(event, ...args);
        }
      }
      const channel = `lost:${randomUUID().slice(0, 8)}`;
      const client = newClient(LosesFirstAck, { publishTimeoutMs: 500 });
      const acks = Array.from({ length: 5 }, (_, n) => client.publish(channel, { n }));
      client.connect();

      const answered = await Promise.all(acks);
      expect(lost).toBe(1);
      expect(answered[0]?.duplicate).toBe(true); // the gateway had stored it: the resend appended nothing
      const log = await stored(channel);
      expect(log.map((e) => e.data)).toEqual(Array.from({ length: 5 }, (_, n) => ({ n })));
      expect(log.map((e) => e.id)).toEqual(answered.map((ack) => ack.id));
    },
  );

  it('publishing again with the application’s idempotencyKey stores it once', async () => {
    const channel = `key:${randomUUID().slice(0, 8)}`;
    const client = newClient();
    client.connect();
    await client.ready();
    const idempotencyKey = randomUUID();
    const first = await client.publish(channel, { text: 'hi' }, { idempotencyKey });
    const again = await client.publish(channel, { text: 'hi' }, { idempotencyKey });
    expect(first.duplicate).toBeUndefined();
    expect(again).toEqual({ channel, id: first.id, duplicate: true });
    expect(await stored(channel)).toEqual([expect.objectContaining({ id: first.id, data: { text: 'hi' } })]);
  });
});
