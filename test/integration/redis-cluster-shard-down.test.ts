/**
 * A whole shard of the cluster gone (its master, and no replica to take over): the
 * gateway's client drops that master from its list, so a PING of every master it knows
 * still answers. With full coverage required (Redis's default) the cluster refuses every
 * command: the store must read not ready all the same — `/readyz` 503, the health report
 * naming the cluster's state — and ready again once the shard is back. With coverage not
 * required the other shards go on serving, and so must the gateway.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from '../support/events.ts';
import { publishHttp, TEST_ADMIN_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import {
  type ClusterNode,
  channelOn,
  clusterArgs,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster.ts';

let cluster: TestCluster;
let gw: LoggedGateway;
const restarted: RedisServerHandle[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  gw = await startLoggedGateway({ REDIS_URL: cluster.url, LOG_LEVEL: 'info' });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  for (const server of restarted) await server.stop();
  await cluster?.stop();
});

const readyz = async () => (await fetch(`${gw.http}/readyz`)).status;
const health = async () =>
  (await (
    await fetch(`${gw.http}/health/websocket`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    })
  ).json()) as { status: string; redis: { status: string } };

/** SIGKILL `node`, then (after `meanwhile`) start it again from its own nodes file. */
async function shardDown(node: ClusterNode, meanwhile: () => Promise<void>, extraArgs: string[] = []) {
  const exited = once(node.server.process, 'exit');
  node.server.process.kill('SIGKILL');
  await exited;
  await meanwhile();
  const server = await startRedisServer({
    port: node.port,
    dir: node.server.dir,
    extraArgs: [...clusterArgs(node.port), ...extraArgs],
  });
  restarted.push(server);
}

it('is not ready while a shard is down, and says why; ready again when it is back', async () => {
  expect(await readyz()).toBe(200);
  await shardDown(cluster.masters[2] as ClusterNode, async () => {
    await eventually(async () => (await readyz()) === 503, '/readyz 503 with a shard down', 20_000);
    const report = await health();
    expect(report.status).toBe('unhealthy');
    expect(report.redis.status).toMatch(/^cluster_state:fail, \d+ of 16384 slots not served$/);
  });
  await eventually(async () => (await readyz()) === 200, '/readyz 200 with the shard back', 30_000);
});

it('with coverage not required, stays ready and serves the other shards, its report degraded', async () => {
  for (const node of cluster.masters) await node.redis.config('SET', 'cluster-require-full-coverage', 'no');
  // masters[2] was the first test's: its handle is the process killed there.
  const [alive, gone] = cluster.masters as [ClusterNode, ClusterNode];
  const channel = await channelOn(alive, gw.prefix, 'partial');
  await shardDown(gone, async () => {
    await eventually(
      async () => /cluster_slots_fail:[1-9]/.test(String(await alive.redis.cluster('INFO'))),
      'the cluster agreeing the shard failed',
      20_000,
    );
    await eventually(async () => (await health()).status === 'degraded', 'the report degraded', 20_000);
    expect((await health()).redis.status).toMatch(/^cluster_state:ok, \d+ of 16384 slots not served$/);
    expect(await readyz()).toBe(200);
    expect(await publishHttp(gw.http, channel, { on: 'a shard still up' })).toMatch(/^\d+-\d+$/);
  }, ['--cluster-require-full-coverage', 'no']);
  await eventually(async () => (await health()).status === 'healthy', 'the report healthy again', 30_000);
}, 90_000);
