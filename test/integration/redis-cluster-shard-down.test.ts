/**
 * A whole shard of the cluster gone (its master, and no replica to take over): the
 * gateway's client drops that master from its list, so a PING of every master it knows
 * still answers. The store must read not ready all the same — `/readyz` 503, the health
 * report naming the cluster's state — and ready again once the shard is back.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually } from '../support/events.ts';
import { TEST_ADMIN_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import {
  type ClusterNode,
  clusterArgs,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster.ts';

let cluster: TestCluster;
let gw: LoggedGateway;
let back: RedisServerHandle | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  gw = await startLoggedGateway({ REDIS_URL: cluster.url, LOG_LEVEL: 'info' });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await back?.stop();
  await cluster?.stop();
});

const readyz = async () => (await fetch(`${gw.http}/readyz`)).status;
const health = async () =>
  (await (
    await fetch(`${gw.http}/health/websocket`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    })
  ).json()) as { status: string; redis: { status: string } };

it('is not ready while a shard is down, and says why; ready again when it is back', async () => {
  expect(await readyz()).toBe(200);
  const gone = cluster.masters[2] as ClusterNode;
  const exited = once(gone.server.process, 'exit');
  gone.server.process.kill('SIGKILL');
  await exited;
  await eventually(async () => (await readyz()) === 503, '/readyz 503 with a shard down', 20_000);
  const report = await health();
  expect(report.status).toBe('unhealthy');
  expect(report.redis.status).toMatch(/^cluster_state:fail, \d+ of 16384 slots not served$/);

  // The same node back, from its own nodes file: the cluster is whole again.
  back = await startRedisServer({ port: gone.port, dir: gone.server.dir, extraArgs: clusterArgs(gone.port) });
  await eventually(async () => (await readyz()) === 200, '/readyz 200 with the shard back', 30_000);
});
