/**
 * Idempotent publish (issue 15 item 5): a publish retried with the same
 * `idempotencyKey` — one after another, all at once, on two gateway processes, over
 * the socket and over HTTP — is appended once, and every attempt gets the first ID.
 * Keys are kept apart per publisher, and forgotten after IDEMPOTENCY_WINDOW_MS. The retries
 * over a client connection run over both transports (WebSocket and the SSE fallback, issue 17).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, EventFrame } from '../../src/shared/frames.ts';
import { sleep } from '../support/events.ts';
import { mintToken, TEST_API_KEY } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const WINDOW_MS = 3000;
let a: GatewayProcess;
let b: GatewayProcess;
const opened: TestClient[] = [];
const run = randomBytes(3).toString('hex');

beforeAll(async () => {
  const shared = { REDIS_PREFIX: `t${run}`, IDEMPOTENCY_WINDOW_MS: String(WINDOW_MS) };
  [a, b] = await Promise.all([
    spawnGateway(processEnv({ ...shared, NODE_ID: `a-${run}` })),
    spawnGateway(processEnv({ ...shared, NODE_ID: `b-${run}` })),
  ]);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const client of opened) client.drop();
  await Promise.all([a?.kill(), b?.kill()]);
});

async function session(gateway: GatewayProcess, sub = 'alice', transport: Transport = 'websocket') {
  const url = endpoint(gateway, transport);
  const { client } = await TestClient.session(url, { token: await mintToken({ sub }) });
  opened.push(client);
  return client;
}

let refs = 0;
function publish(
  client: TestClient,
  channel: string,
  data: unknown,
  idempotencyKey?: string,
): Promise<AckFrame> {
  const ref = `p${refs++}`;
  client.send({ type: 'publish', ref, channel, data, ...(idempotencyKey ? { idempotencyKey } : {}) });
  return client.next((f): f is AckFrame => f.type === 'ack' && f.ref === ref);
}

async function logged(gateway: GatewayProcess, channel: string): Promise<EventFrame[]> {
  const res = await fetch(`${gateway.http}/channels/${channel}/history?limit=1000`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  return ((await res.json()) as { events: EventFrame[] }).events;
}

function httpPublish(gateway: GatewayProcess, body: object, headers: Record<string, string> = {}) {
  return fetch(`${gateway.http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe.each(TRANSPORTS)('retried over a client connection, over %s', (transport: Transport) => {
  it('retried 3 times one after another: appended once, the same ID each time', async () => {
    const channel = `room:seq-${run}-${transport}`;
    const client = await session(a, 'alice', transport);
    const acks = [];
    for (let n = 0; n < 3; n++)
      acks.push(await publish(client, channel, { text: 'hi', attempt: n }, 'order-1'));
    expect(new Set(acks.map((ack) => ack.id)).size).toBe(1);
    expect(acks.map((ack) => ack.duplicate)).toEqual([undefined, true, true]);
    const events = await logged(a, channel);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual({ text: 'hi', attempt: 0 });
  });

  it('retried 3 times at once: appended once', async () => {
    const channel = `room:burst-${run}-${transport}`;
    const client = await session(a, 'alice', transport);
    const acks = await Promise.all([0, 1, 2].map((n) => publish(client, channel, { n }, 'burst')));
    expect(new Set(acks.map((ack) => ack.id)).size).toBe(1);
    expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(1);
    expect(await logged(b, channel)).toHaveLength(1);
  });

  it('retried at once on two gateway processes: appended once, a subscriber gets it once', async () => {
    const channel = `room:two-${run}-${transport}`;
    const watcher = await session(b, 'watcher', transport);
    watcher.send({ type: 'subscribe', channel, ref: 's' });
    await watcher.next((f) => f.type === 'subscribed');
    const [onA, onB, again] = await Promise.all([
      session(a, 'alice', transport),
      session(b, 'alice', transport),
      session(a, 'alice', transport),
    ]);
    const acks = await Promise.all([
      publish(onA, channel, 'x', 'two-procs'),
      publish(onB, channel, 'x', 'two-procs'),
      publish(again, channel, 'x', 'two-procs'),
    ]);
    expect(new Set(acks.map((ack) => ack.id)).size).toBe(1);
    await watcher.waitForEvents(1, channel);
    await publish(onA, channel, 'after'); // a later event, so a duplicate would have arrived by now
    await watcher.waitForEvents(2, channel);
    expect(watcher.events(channel).map((event) => event.data)).toEqual(['x', 'after']);
  });
});

describe('over the socket', () => {
  it('keys are per publisher: the same key from another user is another publish', async () => {
    const channel = `room:scope-${run}`;
    const [alice, bob] = await Promise.all([session(a, 'alice'), session(a, 'bob')]);
    const fromAlice = await publish(alice, channel, 'a', 'shared-key');
    const fromBob = await publish(bob, channel, 'b', 'shared-key');
    expect(fromBob.id).not.toBe(fromAlice.id);
    expect(fromBob.duplicate).toBeUndefined();
    expect(await logged(a, channel)).toHaveLength(2);
  });

  it('a key is forgotten after IDEMPOTENCY_WINDOW_MS', async () => {
    const channel = `room:window-${run}`;
    const client = await session(a);
    const first = await publish(client, channel, 1, 'late');
    await sleep(WINDOW_MS + 500);
    const later = await publish(client, channel, 2, 'late');
    expect(later.id).not.toBe(first.id);
    expect(later.duplicate).toBeUndefined();
  });

  it('without a key every publish is appended', async () => {
    const channel = `room:plain-${run}`;
    const client = await session(a);
    const acks = await Promise.all([1, 2, 3].map((n) => publish(client, channel, n)));
    expect(new Set(acks.map((ack) => ack.id)).size).toBe(3);
  });
});

describe('over HTTP', () => {
  it('the Idempotency-Key header, retried on both processes: appended once, the same ID, duplicate marked', async () => {
    const channel = `room:http-${run}`;
    const headers = { 'idempotency-key': 'invoice-42' };
    const replies = await Promise.all(
      [a, b, a].map(async (gateway) => (await httpPublish(gateway, { channel, data: 1 }, headers)).json()),
    );
    const ids = new Set(replies.map((reply) => (reply as { id: string }).id));
    expect(ids.size).toBe(1);
    expect(replies.filter((reply) => (reply as { duplicate?: boolean }).duplicate === true)).toHaveLength(2);
    expect(await logged(a, channel)).toHaveLength(1);
  });

  it('the body field works the same; the backend’s keys are apart from clients’', async () => {
    const channel = `room:body-${run}`;
    const first = (await (await httpPublish(a, { channel, data: 1, idempotencyKey: 'k' })).json()) as {
      id: string;
    };
    const second = (await (await httpPublish(b, { channel, data: 2, idempotencyKey: 'k' })).json()) as {
      id: string;
      duplicate: boolean;
    };
    expect(second).toMatchObject({ id: first.id, duplicate: true });
    const fromClient = await publish(await session(a), channel, 3, 'k');
    expect(fromClient.id).not.toBe(first.id);
  });

  it('a bad key, or a header and a body that disagree, is 400 MALFORMED_MESSAGE; nothing is appended', async () => {
    const channel = `room:badkey-${run}`;
    const cases: [object, Record<string, string>, string][] = [
      [
        { channel, data: 1 },
        { 'idempotency-key': 'has space' },
        'Idempotency-Key: must be 1–128 visible ASCII',
      ],
      [{ channel, data: 1, idempotencyKey: 'x' }, { 'idempotency-key': 'y' }, 'differ'],
      [{ channel, data: 1, idempotencyKey: '' }, {}, '/idempotencyKey'],
      [{ channel, data: 1, idempotencyKey: 'k'.repeat(129) }, {}, '/idempotencyKey'],
    ];
    for (const [body, headers, message] of cases) {
      const res = await httpPublish(a, body, headers);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { error: string; message: string };
      expect(answer.error).toBe('MALFORMED_MESSAGE');
      expect(answer.message).toContain(message);
    }
    expect(await logged(a, channel)).toHaveLength(0);
  });
});
