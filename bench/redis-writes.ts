/**
 * `node --import tsx bench/redis-writes.ts [appends]`: the gateway's CPU per append
 * (src/channels/event-log.ts, the real append script) on two kinds of connection to a
 * private redis-server, alternated over 5 rounds, medians printed:
 *
 * - `auto-pipelined`: ioredis's enableAutoPipelining, as the durable floor
 *   (bench/systems/uws-durable.server.ts) and Tether before issue 13's lever used;
 * - `one write per turn`: src/redis/turn-writes.ts, as Tether's `appends` and `commands`
 *   connections are now (src/redis/redis-clients.ts).
 *
 * 1,600 appends are kept in flight (the relay scenario's 100 clients × 16), a new one
 * issued as each is answered, so replies arrive in chunks and each chunk's appends are
 * issued in one turn, as the gateway issues them when a poll reads many client frames.
 * CPU is this process's (user + system), the redis-server's is left out: the same script
 * runs there either way.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { EventLog } from '../src/channels/event-log.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { redisKeys } from '../src/redis/keys.ts';
import { writeOncePerTurn } from '../src/redis/turn-writes.ts';
import { median } from './lib/stats.ts';

const APPENDS = Number(process.argv[2] ?? 100_000);
const IN_FLIGHT = 1600;
const ROUNDS = 5;
const CHANNELS = 100;
const DATA = JSON.stringify({ payload: 'x'.repeat(48) });

type Kind = 'auto-pipelined' | 'one write per turn';

function connect(url: string, kind: Kind): Redis {
  const redis = new Redis(url, { enableAutoPipelining: kind === 'auto-pipelined' });
  if (kind === 'one write per turn') writeOncePerTurn(redis);
  return redis;
}

/** CPU µs per append and appends per second, `count` appends with IN_FLIGHT outstanding. */
async function round(log: EventLog, count: number): Promise<{ cpuUs: number; perS: number }> {
  let issued = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (issued < count) {
        const n = issued++;
        await log.append(`bench-${n % CHANNELS}`, DATA, 'correlation-id');
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  return { cpuUs: (used.user + used.system) / count, perS: (count / ms) * 1000 };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const kinds: Kind[] = ['auto-pipelined', 'one write per turn'];
  const logs = new Map(
    kinds.map((kind) => [kind, new EventLog(connect(server.url, kind), redisKeys('bench'), 10_000)]),
  );
  const results = new Map(kinds.map((kind) => [kind, [] as { cpuUs: number; perS: number }[]]));
  try {
    for (const log of logs.values()) await round(log, APPENDS / 10); // warm up
    for (let r = 1; r <= ROUNDS; r++) {
      for (const kind of r % 2 ? kinds : [...kinds].reverse()) {
        process.stderr.write(`round ${r}/${ROUNDS}: ${kind}\n`);
        results.get(kind)?.push(await round(logs.get(kind) as EventLog, APPENDS));
      }
    }
  } finally {
    await server.stop();
  }
  console.log(`${APPENDS} appends per round, ${IN_FLIGHT} in flight, medians of ${ROUNDS} rounds:`);
  for (const [kind, rounds] of results) {
    const cpuUs = median(rounds.map((r) => r.cpuUs));
    const perS = median(rounds.map((r) => r.perS));
    console.log(`${kind.padEnd(20)} ${cpuUs.toFixed(2)} µs CPU per append   ${Math.round(perS)} appends/s`);
  }
  process.exit(0);
}

await main();
