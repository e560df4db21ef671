/**
 * `node --import tsx bench/redis-topologies.ts [events] [readers]`: what an append
 * costs Redis on one server and on a 3-master cluster (issue 14; docs/scaling.md
 * quotes a run). Tether's own append (src/channels/event-log.ts) on 64 channels
 * spread over all slots, `readers` connections subscribed to every channel as
 * gateway processes are; Redis CPU is INFO's used_cpu_user + used_cpu_sys summed
 * over every master, bus messages are CLUSTER INFO's publish count. Bounded: 20K
 * events and 4 readers by default, about 30 s in all here.
 */
import type { Redis } from 'ioredis';
import { EventLog } from '../src/channels/event-log.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { redisKeys } from '../src/redis/keys.ts';
import { createRedisClient, masters, type PubSubMode, parseRedisUrl } from '../src/redis/redis-target.ts';
import { startRedisCluster } from '../test/support/redis-cluster.ts';

const EVENTS = Number(process.argv[2] ?? 20_000);
const READERS = Number(process.argv[3] ?? 4);
const CHANNELS = Array.from({ length: 64 }, (_, i) => `bench${i}`);
const BATCH = 200;

async function cpuSeconds(nodes: Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const info = await node.info('cpu');
    total +=
      Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  }
  return total;
}

async function run(name: string, url: string, pubsub: PubSubMode, bus: () => Promise<number>) {
  const target = parseRedisUrl(url);
  const commands = createRedisClient(target, { enableAutoPipelining: true });
  const keys = redisKeys('bench');
  const log = new EventLog(commands, keys, 10_000, { pubsub });
  let received = 0;
  const readers = await Promise.all(
    Array.from({ length: READERS }, async () => {
      const reader = createRedisClient(target, {}, { shardedSubscribers: pubsub === 'sharded' });
      reader.on(pubsub === 'sharded' ? 'smessage' : 'message', () => received++);
      for (const channel of CHANNELS)
        await (pubsub === 'sharded'
          ? reader.ssubscribe(keys.channel(channel))
          : reader.subscribe(keys.channel(channel)));
      return reader;
    }),
  );
  await commands.ping();
  const nodes = masters(commands);
  const [cpuBefore, busBefore] = [await cpuSeconds(nodes), await bus()];
  const started = performance.now();
  for (let sent = 0; sent < EVENTS; sent += BATCH)
    await Promise.all(
      Array.from({ length: BATCH }, (_, i) =>
        log.append(CHANNELS[(sent + i) % CHANNELS.length] as string, '{"n":1}', 'b'),
      ),
    );
  const seconds = (performance.now() - started) / 1000;
  const deadline = Date.now() + 10_000;
  while (received < EVENTS * READERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const cpu = (await cpuSeconds(nodes)) - cpuBefore;
  const busMessages = (await bus()) - busBefore;
  console.log(
    `${name.padEnd(34)} ${String(nodes.length).padStart(7)} ${Math.round(EVENTS / seconds)
      .toString()
      .padStart(
        9,
      )} ${((cpu * 1e6) / EVENTS).toFixed(1).padStart(14)} ${((cpu * 1e6) / EVENTS / nodes.length).toFixed(1).padStart(16)} ${String(busMessages).padStart(12)} ${(received / EVENTS).toFixed(2).padStart(10)}`,
  );
  for (const client of [commands, ...readers]) client.disconnect();
}

console.log(`${EVENTS} appends over ${CHANNELS.length} channels, ${READERS} subscribed readers`);
console.log(
  `${'topology'.padEnd(34)} masters  events/s  redis µs/event  µs/event/master  bus msgs  delivered×`,
);
const single = await startRedisServer();
await run('one Redis, classic', single.url, 'classic', async () => 0);
await single.stop();
const cluster = await startRedisCluster({ masters: 3 });
await run('3-master cluster, sharded', cluster.url, 'sharded', cluster.busPublishes);
await run('3-master cluster, classic', cluster.url, 'classic', cluster.busPublishes);
await cluster.stop();
