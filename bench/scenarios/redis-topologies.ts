/**
 * Redis topologies (issue 14): what Tether's events cost Redis on one server beside a
 * 3-master Redis Cluster, with sharded (SPUBLISH) and classic (PUBLISH) announcements,
 * for gateways × channels. Per cell: G gateway processes on the topology, C channels
 * each with subscribers on every gateway (so each event is announced to G processes),
 * and a backend publishing over HTTP (POST /publish, a fixed number of events spread
 * over the channels, a few at a time):
 *   events_per_s                  acked publishes per second (this box: the gateways and
 *                                 the publisher share its cores, so a lower bound)
 *   redis_us_per_event            Redis CPU (INFO used_cpu_user + sys, every master) per event,
 *                                 less what Redis used idle (leases, health checks, the
 *                                 cluster's own chatter) over as long, measured just before
 *   redis_us_per_event_per_master the same divided by the masters: the work one master does
 *                                 per event, the figure that says how far a cluster scales
 *   bus_msgs_per_event            cluster-bus publish messages per event (classic copies each
 *                                 to every node; sharded none)
 * Metric names end in `_<topology>_g<G>_c<C>`. Then, on the same Redis, Redis at its own
 * limit with no gateway in the way (the standalone script this scenario replaced):
 * Tether's append (src/channels/event-log.ts) in pipelined batches over 64 channels, 4
 * connections subscribed to every channel as gateway processes are:
 *   direct_events_per_s, direct_redis_us_per_event[_per_master]   `_<topology>`
 * Runs only when named:
 * `npm run bench -- --quick --scenario redis-topologies`.
 */
import { Redis } from 'ioredis';
import { EventLog } from '../../src/channels/event-log.ts';
import { startRedisServer } from '../../src/redis/embedded-redis.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { createRedisClient, parseRedisUrl } from '../../src/redis/redis-target.ts';
import { startRedisCluster } from '../../test/support/redis-cluster.ts';
import { progress } from '../lib/progress.ts';
import { round } from '../lib/stats.ts';
import type { RunningSystem } from '../systems/system.ts';
import { BENCH_PUBLISH_KEY } from '../systems/tether.ts';
import { closeGroup, connectGroup, type Scenario, type ScenarioContext, withSystem } from './scenario.ts';

const SCENARIO = 'redis-topologies';
const SIZES = {
  quick: { cells: [{ gateways: 2, channels: 16 }], events: 3000, subscribersPerGateway: 3, direct: 10_000 },
  full: {
    cells: [
      { gateways: 2, channels: 16 },
      { gateways: 4, channels: 64 },
    ],
    events: 20_000,
    subscribersPerGateway: 3,
    direct: 40_000,
  },
};
/** Publishes in flight at once. */
const IN_FLIGHT = 32;
/** Appends sent at once when Redis is measured alone. */
const DIRECT_BATCH = 200;
/** How long Redis's idle CPU is read before publishing, ms. */
const IDLE_MS = 3000;

interface Topology {
  name: 'single' | 'cluster_sharded' | 'cluster_classic';
  pubsub: 'sharded' | 'classic';
  start(): Promise<RedisUnderTest>;
}

interface RedisUnderTest {
  url: string;
  pids: number[];
  /** One plain connection per master, for INFO. */
  masters: Redis[];
  busPublishes(): Promise<number>;
  stop(): Promise<void>;
}

const single = async (): Promise<RedisUnderTest> => {
  const server = await startRedisServer();
  const connection = new Redis(server.url);
  return {
    url: server.url,
    pids: [server.process.pid as number],
    masters: [connection],
    busPublishes: async () => 0,
    stop: async () => {
      connection.disconnect();
      await server.stop();
    },
  };
};

const cluster = async (): Promise<RedisUnderTest> => {
  const started = await startRedisCluster({ masters: 3 });
  return {
    url: started.url,
    pids: started.masters.map((m) => m.server.process.pid as number),
    masters: started.masters.map((m) => m.redis),
    busPublishes: started.busPublishes,
    stop: started.stop,
  };
};

const TOPOLOGIES: Topology[] = [
  { name: 'single', pubsub: 'classic', start: single },
  { name: 'cluster_sharded', pubsub: 'sharded', start: cluster },
  { name: 'cluster_classic', pubsub: 'classic', start: cluster },
];

export const redisTopologiesScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    const named = ctx.options.scenarios.some((filter) => SCENARIO.startsWith(filter));
    if (!named || !ctx.options.systems.includes('tether')) return;
    const size = ctx.options.quick ? SIZES.quick : SIZES.full;
    for (const cell of size.cells)
      for (const topology of TOPOLOGIES) {
        progress(SCENARIO, 'tether', `${topology.name}: starting Redis`);
        const redis = await topology.start();
        try {
          await withSystem(
            ctx,
            SCENARIO,
            'tether',
            (system) => measureCell(ctx, system, redis, topology, { ...cell, ...size }),
            {
              processes: cell.gateways,
              redis: { url: redis.url, pids: redis.pids },
              env: { REDIS_PUBSUB: topology.pubsub },
            },
          );
          // Once per topology, after the first cell's gateways are gone.
          if (cell === size.cells[0]) await measureDirect(ctx, redis, topology, size.direct);
        } finally {
          await redis.stop();
        }
      }
  },
};

/** Redis at its own limit: Tether's append in batches, announced to 4 subscribed readers. */
async function measureDirect(
  ctx: ScenarioContext,
  redis: RedisUnderTest,
  topology: Topology,
  events: number,
) {
  progress(SCENARIO, 'tether', `${topology.name}: ${events} appends straight to Redis`);
  const target = parseRedisUrl(redis.url);
  const sharded = topology.pubsub === 'sharded';
  const commands = createRedisClient(target, { enableAutoPipelining: true });
  const keys = redisKeys('direct');
  const log = new EventLog(commands, keys, 10_000, { pubsub: topology.pubsub });
  const channels = Array.from({ length: 64 }, (_, i) => `direct${i}`);
  const readers = Array.from({ length: 4 }, () =>
    createRedisClient(target, {}, { shardedSubscribers: sharded }),
  );
  try {
    for (const reader of readers)
      for (const channel of channels)
        await (sharded ? reader.ssubscribe(keys.channel(channel)) : reader.subscribe(keys.channel(channel)));
    const [cpuBefore, started] = [await cpuSeconds(redis.masters), performance.now()];
    for (let sent = 0; sent < events; sent += DIRECT_BATCH)
      await Promise.all(
        Array.from({ length: DIRECT_BATCH }, (_, i) =>
          log.append(channels[(sent + i) % channels.length] as string, '{"n":1}', 'b'),
        ),
      );
    const seconds = (performance.now() - started) / 1000;
    const cpuUs = ((await cpuSeconds(redis.masters)) - cpuBefore) * 1e6;
    const suffix = `_${topology.name}`;
    ctx.sink.add(SCENARIO, 'tether', `direct_events_per_s${suffix}`, round(events / seconds), 'events/s');
    ctx.sink.add(SCENARIO, 'tether', `direct_redis_us_per_event${suffix}`, round(cpuUs / events), 'µs');
    ctx.sink.add(
      SCENARIO,
      'tether',
      `direct_redis_us_per_event_per_master${suffix}`,
      round(cpuUs / events / redis.masters.length),
      'µs',
    );
  } finally {
    for (const client of [commands, ...readers]) client.disconnect();
  }
}

async function cpuSeconds(masters: Redis[]): Promise<number> {
  let total = 0;
  for (const node of masters) {
    const info = await node.info('cpu');
    total +=
      Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  }
  return total;
}

async function measureCell(
  ctx: ScenarioContext,
  system: RunningSystem,
  redis: RedisUnderTest,
  topology: Topology,
  cell: { gateways: number; channels: number; events: number; subscribersPerGateway: number },
): Promise<void> {
  const suffix = `_${topology.name}_g${cell.gateways}_c${cell.channels}`;
  const channels = Array.from({ length: cell.channels }, (_, i) => `topo${i}`);
  progress(SCENARIO, 'tether', `${topology.name}: subscribing on ${cell.channels} channels`);
  // Several subscribers per gateway and channel: the kernel spreads connections over the
  // processes (SO_REUSEPORT), so each process very likely reads every channel.
  for (const channel of channels) {
    const wanted = cell.gateways * cell.subscribersPerGateway;
    const ready = await connectGroup(ctx, system, channel, wanted, { subscribe: channel });
    if (ready.connected < wanted) throw new Error(`only ${ready.connected} subscribed: ${ready.firstError}`);
  }
  const httpUrl = system.url.replace(/^ws:/, 'http:').replace(/\/ws$/, '');
  const publish = async (channel: string) => {
    const res = await fetch(`${httpUrl}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: { n: 1 } }),
    });
    await res.arrayBuffer();
    return res.status === 200;
  };
  const publishAll = async (count: number) => {
    let next = 0;
    let acked = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < count) if (await publish(channels[next++ % channels.length] as string)) acked++;
      }),
    );
    return acked;
  };
  await publishAll(200); // warm-up: scripts loaded, connections made
  progress(SCENARIO, 'tether', `${topology.name}: Redis idle for ${IDLE_MS / 1000} s`);
  const idleFrom = await cpuSeconds(redis.masters);
  const idleStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const idleUsPerS =
    (((await cpuSeconds(redis.masters)) - idleFrom) * 1e6) / ((performance.now() - idleStarted) / 1000);
  progress(SCENARIO, 'tether', `${topology.name}: publishing ${cell.events} events`);
  const [cpuBefore, busBefore] = [await cpuSeconds(redis.masters), await redis.busPublishes()];
  const started = performance.now();
  const acked = await publishAll(cell.events);
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = ((await cpuSeconds(redis.masters)) - cpuBefore) * 1e6 - idleUsPerS * seconds;
  const bus = (await redis.busPublishes()) - busBefore;
  const { sink } = ctx;
  if (acked < cell.events)
    sink.note(SCENARIO, 'tether', `${suffix}: ${cell.events - acked} publishes refused`);
  sink.add(SCENARIO, 'tether', `events_per_s${suffix}`, round(acked / seconds), 'events/s');
  sink.add(SCENARIO, 'tether', `redis_us_per_event${suffix}`, round(cpuUs / acked), 'µs');
  sink.add(
    SCENARIO,
    'tether',
    `redis_us_per_event_per_master${suffix}`,
    round(cpuUs / acked / redis.masters.length),
    'µs',
  );
  sink.add(SCENARIO, 'tether', `bus_msgs_per_event${suffix}`, round(bus / acked), 'messages');
  for (const channel of channels) await closeGroup(ctx, channel);
}
