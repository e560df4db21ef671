/**
 * `node --import tsx bench/publish-ack.ts [appends]`: what PUBLISH_ACK_REPLICAS=1 costs the
 * publish path (src/channels/ack-lanes.ts) on a private master and replica, against the
 * same appends without the wait (`PUBLISH_ACK_REPLICAS=0`, the floor), alternated over 5
 * rounds, medians printed; then the answer times of 40 publishes sent at once while the
 * replica is frozen (SIGSTOP): each must be answered within about PUBLISH_ACK_TIMEOUT_MS.
 *
 * 200 appends are kept in flight over 64 channels, through the EventLog the gateway uses,
 * with its ack connection (one: src/redis/redis-clients.ts) and a 500 ms timeout.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { EventLog } from '../src/channels/event-log.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { redisKeys } from '../src/redis/keys.ts';
import { median, percentile, round } from './lib/stats.ts';

const APPENDS = Number(process.argv[2] ?? 20_000);
const IN_FLIGHT = 200;
const ROUNDS = 5;
const ACK_TIMEOUT_MS = 500;

const master = await startRedisServer();
const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
const connect = () => new Redis(master.port, '127.0.0.1');
const onReplica = new Redis(replica.port, '127.0.0.1');
while (!/master_link_status:up/.test(await onReplica.info('replication')))
  await new Promise((resolve) => setTimeout(resolve, 100));
const redis = connect();
const appends = connect();
const acks = [connect()];

function eventLog(ackReplicas: number, prefix: string): EventLog {
  return new EventLog(redis, redisKeys(prefix), 1000, {
    appendConnection: appends,
    ackReplicas,
    ackConnections: acks,
    ackTimeoutMs: ACK_TIMEOUT_MS,
  });
}

/** Appends per second, APPENDS of them with IN_FLIGHT outstanding; throws if one failed. */
async function measure(log: EventLog): Promise<number> {
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (issued < APPENDS) {
        const n = issued++;
        await log.append(`bench-${n % 64}`, JSON.stringify({ n }), `c${n}`);
      }
    }),
  );
  return APPENDS / ((performance.now() - started) / 1000);
}

const rates: Record<'floor' | 'acked', number[]> = { floor: [], acked: [] };
for (let r = 0; r <= ROUNDS; r++) {
  await redis.flushall();
  for (const [name, replicas] of [
    ['floor', 0],
    ['acked', 1],
  ] as const) {
    const rate = await measure(eventLog(replicas, `b${r}${name}`));
    if (r > 0) rates[name].push(rate); // round 0 warms up
    process.stderr.write(`round ${r}${r === 0 ? ' (warm-up)' : ''} ${name}: ${Math.round(rate)} appends/s\n`);
  }
}
const floor = median(rates.floor);
const acked = median(rates.acked);
console.log(
  `appends/s, median of ${ROUNDS}: floor (no wait) ${round(floor)}, PUBLISH_ACK_REPLICAS=1 ${round(acked)}`,
);
console.log(`ratio acked/floor: ${round(acked / floor, 2)}`);

// The replica frozen: 40 publishes at once, each answered (acked or refused) in its time.
const log = eventLog(1, 'frozen');
replica.process.kill('SIGSTOP');
const answeredMs: number[] = [];
let refused = 0;
await Promise.all(
  Array.from({ length: 40 }, async (_, n) => {
    const started = performance.now();
    await log.append(`frozen-${n % 4}`, '{}', `f${n}`).catch(() => refused++);
    answeredMs.push(performance.now() - started);
  }),
);
replica.process.kill('SIGCONT');
console.log(
  `replica frozen, 40 publishes at once: ${refused} refused, answered in median ${round(median(answeredMs))} ms, ` +
    `slowest ${round(percentile(answeredMs, 100))} ms (PUBLISH_ACK_TIMEOUT_MS=${ACK_TIMEOUT_MS})`,
);

for (const connection of [redis, appends, onReplica, ...acks]) connection.disconnect();
await replica.stop();
await master.stop();
