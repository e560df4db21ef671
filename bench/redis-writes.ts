/**
 * `node --import tsx bench/redis-writes.ts [appends]`: the gateway's CPU per append
 * (src/channels/event-log.ts's append script, its arguments as the log sends them) on a
 * private redis-server, three ways, alternated over 5 rounds, medians printed:
 *
 * - `auto-pipelined, ioredis script`: ioredis's enableAutoPipelining and its
 *   `defineCommand` script, as the durable floor (bench/systems/uws-durable.server.ts)
 *   and Tether before issue 13's Redis levers;
 * - `one write per turn, ioredis script`: src/redis/turn-writes.ts, with ioredis's script;
 * - `one write per turn, lua-scripts`: src/redis/lua-scripts.ts — as Tether's `appends`
 *   connection runs the append now (src/redis/redis-clients.ts).
 *
 * 1,600 appends are kept in flight (the relay scenario's 100 clients × 16), a new one
 * issued as each is answered, so replies arrive in chunks and each chunk's appends are
 * issued in one turn, as the gateway issues them when a poll reads many client frames.
 * CPU is this process's (user + system), the redis-server's is left out: the same script
 * runs there either way.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { newEpoch } from '../src/channels/event-log.ts';
import { APPEND_SCRIPT } from '../src/channels/log-scripts.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { redisKeys } from '../src/redis/keys.ts';
import { LuaScript } from '../src/redis/lua-scripts.ts';
import { writeOncePerTurn } from '../src/redis/turn-writes.ts';
import { median } from './lib/stats.ts';

const APPENDS = Number(process.argv[2] ?? 100_000);
const IN_FLIGHT = 1600;
const ROUNDS = 5;
const CHANNELS = 100;
const DATA = JSON.stringify({ payload: 'x'.repeat(48) });
const keys = redisKeys('bench');
const APPEND = new LuaScript(APPEND_SCRIPT, 2);

type Append = (channel: string) => Promise<unknown>;
type IoredisScripted = Redis & { tetherAppend(...args: (string | number)[]): Promise<unknown> };

/** The append's arguments, as EventLog.append gives them (no idempotency key, no trace). */
function appendArgs(channel: string): (string | number)[] {
  const key = keys.channel(channel);
  return [key, key, 10_000, DATA, Date.now(), 'correlation-id', '', 0, newEpoch(), 0, 0, 'classic'];
}

const WAYS = {
  'auto-pipelined, ioredis script': (url: string): Append => {
    const redis = new Redis(url, { enableAutoPipelining: true }) as IoredisScripted;
    redis.defineCommand('tetherAppend', { lua: APPEND_SCRIPT, numberOfKeys: 2 });
    return (channel) => redis.tetherAppend(...appendArgs(channel));
  },
  'one write per turn, ioredis script': (url: string): Append => {
    const redis = new Redis(url, { enableAutoPipelining: false }) as IoredisScripted;
    writeOncePerTurn(redis);
    redis.defineCommand('tetherAppend', { lua: APPEND_SCRIPT, numberOfKeys: 2 });
    return (channel) => redis.tetherAppend(...appendArgs(channel));
  },
  'one write per turn, lua-scripts': (url: string): Append => {
    const redis = new Redis(url, { enableAutoPipelining: false });
    writeOncePerTurn(redis);
    return (channel) => APPEND.run(redis, appendArgs(channel));
  },
};
type Way = keyof typeof WAYS;

/** CPU µs per append and appends per second, `count` appends with IN_FLIGHT outstanding. */
async function round(append: Append, count: number): Promise<{ cpuUs: number; perS: number }> {
  let issued = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (issued < count) {
        const n = issued++;
        await append(`bench-${n % CHANNELS}`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  return { cpuUs: (used.user + used.system) / count, perS: (count / ms) * 1000 };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const kinds = Object.keys(WAYS) as Way[];
  const appends = new Map(kinds.map((kind) => [kind, WAYS[kind](server.url)]));
  const results = new Map(kinds.map((kind) => [kind, [] as { cpuUs: number; perS: number }[]]));
  try {
    for (const append of appends.values()) await round(append, APPENDS / 10); // warm up
    for (let r = 1; r <= ROUNDS; r++) {
      for (const kind of r % 2 ? kinds : [...kinds].reverse()) {
        process.stderr.write(`round ${r}/${ROUNDS}: ${kind}\n`);
        results.get(kind)?.push(await round(appends.get(kind) as Append, APPENDS));
      }
    }
  } finally {
    await server.stop();
  }
  console.log(`${APPENDS} appends per round, ${IN_FLIGHT} in flight, medians of ${ROUNDS} rounds:`);
  for (const [kind, rounds] of results) {
    const cpuUs = median(rounds.map((r) => r.cpuUs));
    const perS = median(rounds.map((r) => r.perS));
    console.log(`${kind.padEnd(36)} ${cpuUs.toFixed(2)} µs CPU per append   ${Math.round(perS)} appends/s`);
  }
  process.exit(0);
}

await main();
