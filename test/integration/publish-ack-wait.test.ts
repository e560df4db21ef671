/**
 * PUBLISH_ACK_TIMEOUT_MS bounds a publish's answer (src/channels/ack-lanes.ts): with the
 * replica frozen (SIGSTOP of a redis-server replica started here), 40 publishes sent at
 * once are all answered within about one timeout — not one timeout per publish queued
 * behind another's WAIT on the gateway's ack connections — each refusal is the
 * retryable STORE_UNAVAILABLE whose message says truly whether the event is in the log,
 * a retry with the same idempotencyKey stays one event, and once the replica is back a
 * publish is acked again. With the replica following, one client's publishes to a channel
 * are stored in the order it sent them, however they are batched.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { AckFrame } from '../../src/shared/frames.ts';
import { compareEventIds } from '../../src/shared/identifiers.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const API = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
const TIMEOUT_MS = 1000;
const PUBLISHES = 40;

interface Answer {
  n: number;
  status: number;
  id?: string;
  duplicate?: boolean;
  error?: string;
  message?: string;
  ms: number;
}

async function publish(http: string, channel: string, n: number): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${http}/publish`, {
    method: 'POST',
    headers: API,
    body: JSON.stringify({ channel, data: { n }, idempotencyKey: `key-${n}` }),
  });
  const body = (await res.json()) as Omit<Answer, 'n' | 'status' | 'ms'>;
  return { n, status: res.status, ...body, ms: performance.now() - started };
}

const IN_THE_LOG =
  /^\d+ of 1 replicas confirmed the append within 1000 ms: the event is in the log, but a failover could still lose it; retry with the same idempotencyKey$/;
const NOT_SENT = /: the event was not sent, so it is not in the log; retry with the same idempotencyKey$/;

describe('publishes with PUBLISH_ACK_REPLICAS=1', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A master and its replica started here, in sync, and a gateway on the master acking after the replica. */
  async function gatewayWithReplica() {
    const master: RedisServerHandle = await startRedisServer();
    cleanup.push(() => master.stop());
    const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    cleanup.push(() => replica.stop());
    cleanup.push(() => replica.process.kill('SIGCONT'));
    const link = new Redis(replica.port, '127.0.0.1');
    cleanup.push(() => link.disconnect());
    const direct = new Redis(master.port, '127.0.0.1');
    cleanup.push(() => direct.disconnect());
    await eventually(
      async () => /master_link_status:up/.test(await link.info('replication')),
      'the replica in sync',
    );
    const gw: TestGateway = await startTestGateway({
      REDIS_URL: `redis://127.0.0.1:${master.port}`,
      PUBLISH_ACK_REPLICAS: '1',
      PUBLISH_ACK_TIMEOUT_MS: String(TIMEOUT_MS),
      MESSAGES_PER_SECOND: '0',
    });
    cleanup.push(() => gw.stop());
    // Set-up: a busy box may miss one WAIT even with the replica following.
    await eventually(
      async () => (await publish(gw.http, 'ackwait:warm', 0)).status === 200,
      'an acked publish',
    );
    /** The `n` of each event stored in `channel`, in the log's order. */
    const storedOrder = async (channel: string) =>
      (await direct.xrange(`${gw.prefix}:{c:${channel}}`, '-', '+')).map(([, fields]) => {
        const data = fields[fields.indexOf('d') + 1] as string;
        return (JSON.parse(data) as { n: number }).n;
      });
    return { replica, link, direct, gw, storedOrder };
  }

  it('one client’s 2,000 publishes to a channel, sent without waiting, are stored and acked in its order', async () => {
    const { gw, storedOrder } = await gatewayWithReplica();
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'ordered' }) });
    cleanup.push(() => client.drop());
    const channel = 'ackwait:order';
    const SENT = 2000;
    for (let n = 0; n < SENT; n++) client.send({ type: 'publish', channel, data: { n }, ref: `p${n}` });
    const acked = () => client.frames.filter((f): f is AckFrame => f.type === 'ack');
    await eventually(() => acked().length === SENT, `${SENT} acks`, 30_000);
    const ackOf = new Map(acked().map((ack) => [ack.ref, ack.id]));
    const order = Array.from({ length: SENT }, (_, n) => n);
    expect(await storedOrder(channel)).toEqual(order);
    const ids = Array.from({ length: SENT }, (_, n) => ackOf.get(`p${n}`) as string);
    expect([...ids].sort(compareEventIds)).toEqual(ids);
  }, 60_000);

  it('40 at once are all answered within about the timeout, each refusal telling truly whether the event is in the log; a publish after the replica resumes is acked', async () => {
    const { replica, link, direct, gw, storedOrder } = await gatewayWithReplica();

    replica.process.kill('SIGSTOP'); // its acks stop: every WAIT runs to its timeout
    const channel = 'ackwait:frozen';
    const answers = await Promise.all(
      Array.from({ length: PUBLISHES }, (_, n) => publish(gw.http, channel, n)),
    );

    // Every publish was answered, long before one timeout per publish on each of the old
    // 4 ack connections (that serial wait: 10 s here) would have allowed; generous for CI.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(5 * TIMEOUT_MS);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a.status).toBe(503);
      expect(a.error).toBe('STORE_UNAVAILABLE');
      expect(a.message).toMatch(new RegExp(`${IN_THE_LOG.source}|${NOT_SENT.source}`));
    }
    // What each answer says about the log is true: acked and "in the log" ones are there, "not sent" ones are not.
    const stored = new Set(await storedOrder(channel));
    for (const a of answers) {
      const inLog = a.status === 200 || IN_THE_LOG.test(a.message ?? '');
      expect({ n: a.n, message: a.message, stored: stored.has(a.n) }).toEqual({
        n: a.n,
        message: a.message,
        stored: inLog,
      });
    }

    replica.process.kill('SIGCONT');
    await eventually(async () => (await link.ping()) === 'PONG', 'the replica answering again');
    // A bystander's publish is acked once the replica is back…
    const bystander = await publish(gw.http, 'ackwait:bystander', 1000);
    expect(bystander.status).toBe(200);
    // …and a refused publish retried with its key is one event: the first's ID if it was written.
    const retried = refused[0] as Answer;
    const again = await publish(gw.http, channel, retried.n);
    expect(again.status).toBe(200);
    expect(again.duplicate === true).toBe(stored.has(retried.n));
    const entries = await direct.xrange(`${gw.prefix}:{c:${channel}}`, '-', '+');
    const copies = entries.filter(([, fields]) => fields.includes(JSON.stringify({ n: retried.n })));
    expect(copies.map(([id]) => id)).toEqual([again.id]);
  }, 60_000);
});
