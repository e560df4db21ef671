/**
 * Real Redis Cluster and Sentinel deployments for tests, started by the test run:
 * `redis-server --cluster-enabled yes` per node joined with `redis-cli --cluster create`,
 * replicas attached with CLUSTER REPLICATE; a master, a replica and `redis-server
 * --sentinel` watching them. Every process is on a free port in a temp dir and is
 * stopped with the handle.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from './events.ts';

const run = promisify(execFile);

export interface ClusterNode {
  server: RedisServerHandle;
  port: number;
  /** A plain connection to this node alone. */
  redis: Redis;
}

export interface TestCluster {
  /** REDIS_URL for the gateway: `redis+cluster://` with every master as a seed. */
  url: string;
  masters: ClusterNode[];
  /** replicas[i] replicates masters[i] (only for masters given one). */
  replicas: ClusterNode[];
  /**
   * Promote `replica` with CLUSTER FAILOVER TAKEOVER (its master is gone or cut off) and
   * wait until every node still up maps no slot to `dead` and reports cluster_state:ok.
   */
  takeover(replica: ClusterNode, dead: ClusterNode): Promise<void>;
  /** Publish messages the nodes sent over the cluster bus (a classic PUBLISH is copied to every node). */
  busPublishes(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A channel name, starting with `stem`, whose stream (`prefix:{c:name}`) hashes to a slot
 * `master` owns. Tests that need keys on a given master pick names this way: random names
 * alone leave one of three masters without any of twelve channels in about 2% of runs.
 */
export async function channelOn(master: ClusterNode, prefix: string, stem = 'ch'): Promise<string> {
  const ranges = (await master.redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const mine = ranges.filter(([, , [, port]]) => port === master.port);
  for (let i = 0; ; i++) {
    const channel = `${stem}${i}:${randomUUID().slice(0, 6)}`;
    const slot = Number(await master.redis.cluster('KEYSLOT', `${prefix}:{c:${channel}}`));
    if (mine.some(([from, to]) => slot >= from && slot <= to)) return channel;
  }
}

/** A cluster node's flags: started again with them (and its dir), a node is the same member. */
export function clusterArgs(port: number): string[] {
  return [
    '--cluster-enabled',
    'yes',
    '--cluster-node-timeout',
    '1000',
    '--cluster-config-file',
    `nodes-${port}.conf`,
  ];
}

/** Redis listens for the cluster bus at its port + 10,000: a node's port must be at most this. */
const MAX_NODE_PORT = 55_535;

/**
 * A node on a free port low enough for its bus. The ephemeral range here reaches 60999, and a
 * node given a port past 55535 exits at once ("Redis port number too high"); its bus port may
 * also be taken by then, so a node that cannot start is tried again on another port.
 */
async function startClusterNode(): Promise<RedisServerHandle> {
  for (let attempt = 1; ; attempt++) {
    const port = await lowFreePort();
    try {
      return await startRedisServer({ port, extraArgs: clusterArgs(port) });
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function lowFreePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort();
    if (port <= MAX_NODE_PORT) return port;
  }
  throw new Error(`no free port at most ${MAX_NODE_PORT} in 50 tries`);
}

async function clusterNode(): Promise<ClusterNode> {
  const server = await startClusterNode();
  const { port } = server;
  const redis = new Redis(port, '127.0.0.1');
  redis.on('error', () => {}); // a node a test kills: its connection retries quietly
  return { server, port, redis };
}

/** `masters` masters over all 16384 slots; the first `replicas` of them get one replica each. */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number } = {},
): Promise<TestCluster> {
  const masters = await Promise.all(Array.from({ length: options.masters ?? 3 }, clusterNode));
  const replicas = await Promise.all(Array.from({ length: options.replicas ?? 0 }, clusterNode));
  const all = [...masters, ...replicas];
  const stop = async () => {
    for (const node of all) node.redis.disconnect();
    await Promise.all(all.map((node) => node.server.stop()));
  };
  try {
    await run('redis-cli', [
      '--cluster',
      'create',
      ...masters.map((m) => `127.0.0.1:${m.port}`),
      '--cluster-yes',
    ]);
    for (const [i, replica] of replicas.entries()) {
      const master = masters[i] as ClusterNode;
      await replica.redis.cluster('MEET', '127.0.0.1', master.port);
      const masterId = String(await master.redis.cluster('MYID'));
      await eventually(
        async () => String(await replica.redis.cluster('NODES')).includes(masterId),
        'the replica to learn the master',
      );
      await replica.redis.cluster('REPLICATE', masterId);
      await eventually(
        async () => /master_link_status:up/.test(await replica.redis.info('replication')),
        'the replica in sync',
      );
    }
    await eventually(
      async () =>
        (await Promise.all(all.map(async (n) => String(await n.redis.cluster('INFO'))))).every((info) =>
          info.includes('cluster_state:ok'),
        ),
      'cluster_state:ok on every node',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `redis+cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`,
    masters,
    replicas,
    takeover: async (replica, dead) => {
      await replica.redis.cluster('FAILOVER', 'TAKEOVER');
      const alive = all.filter(
        (n) => n !== dead && n.server.process.exitCode === null && n.server.process.signalCode === null,
      );
      await eventually(async () => {
        const maps = await Promise.all(alive.map((n) => n.redis.cluster('SLOTS')));
        return maps.every((ranges) =>
          (ranges as unknown as [number, number, [string, number]][]).every(
            ([, , [, port]]) => port !== dead.port,
          ),
        );
      }, 'every node to map the slots to the promoted replica');
      // A replica paused past the node timeout was flagged FAIL; until every node clears
      // that, some report cluster_state:fail and a new client's ready check fails.
      await eventually(
        async () =>
          (await Promise.all(alive.map(async (n) => String(await n.redis.cluster('INFO'))))).every((info) =>
            info.includes('cluster_state:ok'),
          ),
        'cluster_state:ok on every node still up',
        20_000,
      );
    },
    busPublishes: async () => {
      let sent = 0;
      for (const node of all) {
        const info = String(await node.redis.cluster('INFO'));
        sent += Number(/cluster_stats_messages_publish_sent:(\d+)/.exec(info)?.[1] ?? 0);
      }
      return sent;
    },
    stop,
  };
}

export interface TestSentinel {
  /** REDIS_URL for the gateway: `redis+sentinel://…/<masterName>`. */
  url: string;
  master: RedisServerHandle;
  replica: RedisServerHandle;
  /** A connection to the Sentinel. */
  sentinel: Redis;
  /** The port of the server the Sentinel calls master now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

export const SENTINEL_MASTER = 'tether-test';

/** A master, its replica, and one Sentinel (quorum 1) watching them. */
export async function startRedisSentinel(): Promise<TestSentinel> {
  const master = await startRedisServer();
  const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  const sentinelPort = await freePort();
  const conf = join(replica.dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
      `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
      '',
    ].join('\n'),
  );
  const sentinelServer = await startRedisServer({
    port: sentinelPort,
    configFile: conf,
    extraArgs: ['--sentinel'],
  }).catch(async (error) => {
    await Promise.all([replica.stop(), master.stop()]);
    throw error;
  });
  const sentinel = new Redis(sentinelPort, '127.0.0.1');
  const replicaConnection = new Redis(replica.port, '127.0.0.1');
  await eventually(
    async () => /master_link_status:up/.test(await replicaConnection.info('replication')),
    'the replica in sync',
  );
  replicaConnection.disconnect();
  const masterPort = async () =>
    Number(((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER)) as string[])[1]);
  return {
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/${SENTINEL_MASTER}`,
    master,
    replica,
    sentinel,
    masterPort,
    stop: async () => {
      sentinel.disconnect();
      await Promise.all([sentinelServer.stop(), replica.stop(), master.stop()]);
    },
  };
}
