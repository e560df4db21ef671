/**
 * PUBLISH_ACK_TIMEOUT_MS bounds a publish's answer (src/channels/ack-lanes.ts): with the
 * replica frozen (SIGSTOP of a redis-server replica started here), 40 publishes sent at
 * once are all answered within about one timeout — not one timeout per publish queued
 * behind another's WAIT on the gateway's 4 ack connections — each refusal is the
 * retryable STORE_UNAVAILABLE whose message says truly whether the event is in the log,
 * a retry with the same idempotencyKey stays one event, and once the replica is back a
 * publish is acked again.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from '../support/events.ts';
import { startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';

const API = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
const TIMEOUT_MS = 1000;
const PUBLISHES = 40;
/** The gateway's ack connections (src/redis/redis-clients.ts ACK_CONNECTIONS). */
const ACK_CONNECTIONS = 4;

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

describe('publishes while the replica is frozen (PUBLISH_ACK_REPLICAS=1)', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('40 at once are all answered within about the timeout, each refusal telling truly whether the event is in the log; a publish after the replica resumes is acked', async () => {
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
    });
    cleanup.push(() => gw.stop());
    // Set-up: a busy box may miss one WAIT even with the replica following.
    await eventually(
      async () => (await publish(gw.http, 'ackwait:warm', 0)).status === 200,
      'an acked publish',
    );

    replica.process.kill('SIGSTOP'); // its acks stop: every WAIT runs to its timeout
    const channel = 'ackwait:frozen';
    const answers = await Promise.all(
      Array.from({ length: PUBLISHES }, (_, n) => publish(gw.http, channel, n)),
    );

    // Every publish was answered, long before one timeout per publish on each ack
    // connection (the old serial wait: 10 s here) would have allowed; generous for CI.
    const serialMs = (PUBLISHES / ACK_CONNECTIONS) * TIMEOUT_MS;
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(serialMs / 2);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a.status).toBe(503);
      expect(a.error).toBe('STORE_UNAVAILABLE');
      expect(a.message).toMatch(new RegExp(`${IN_THE_LOG.source}|${NOT_SENT.source}`));
    }
    // What each answer says about the log is true: acked and "in the log" ones are there, "not sent" ones are not.
    const stored = new Set(
      (await direct.xrange(`${gw.prefix}:{c:${channel}}`, '-', '+')).map(([, fields]) => {
        const data = fields[fields.indexOf('d') + 1] as string;
        return (JSON.parse(data) as { n: number }).n;
      }),
    );
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
