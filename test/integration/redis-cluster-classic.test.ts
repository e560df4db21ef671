/**
 * Classic pub/sub on a Redis Cluster (REDIS_PUBSUB=classic): the gateway listens through
 * one connection to a node ioredis picks, and when that node dies ioredis picks another
 * and re-subscribes by itself. Announcements sent to the dead node are lost there; the
 * reader must catch them up from the stream before the next live one, never skip them.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, publishMany, sleep } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import {
  type ClusterNode,
  channelOn,
  startRedisCluster,
  type TestCluster,
} from '../support/redis-cluster.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let cluster: TestCluster;
let gw: LoggedGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 3 });
  gw = await startLoggedGateway({ REDIS_URL: cluster.url, REDIS_PUBSUB: 'classic', LOG_LEVEL: 'info' });
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.drop();
  await gw?.stop();
  await cluster?.stop();
});

/** The node holding the channel reader's subscriber connection, and that connection's ID there. */
async function readerSubscriber(): Promise<{ node: ClusterNode; clientId: string } | undefined> {
  const name = `ioredis-cluster(subscriber):tether:${gw.gateway.core.config.nodeId}:feed`;
  for (const node of [...cluster.masters, ...cluster.replicas]) {
    if (node.server.process.exitCode !== null || node.server.process.signalCode !== null) continue;
    const list = String(await node.redis.client('LIST').catch(() => ''));
    const line = list.split('\n').find((l) => l.includes(` name=${name} `));
    if (line) return { node, clientId: /(?:^| )id=(\d+)/.exec(line)?.[1] as string };
  }
  return undefined;
}

it('a subscriber node that dies loses no event: what it missed is read from the stream, in order', async () => {
  const channel = await channelOn(cluster.masters[0] as ClusterNode, gw.prefix, 'classic');
  const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'listener' }) });
  clients.push(client);
  client.send({ type: 'subscribe', channel, ref: 's' });
  await client.next((f) => f.type === 'subscribed' && f.ref === 's');

  // Move the reader's connection until it sits on a replica: killing that node then takes
  // no slot away, so publishes go on while it is gone (ioredis picks a node at random).
  let on = await eventually(readerSubscriber, 'the reader’s subscriber connection');
  for (let moves = 0; !cluster.replicas.includes(on.node); moves++) {
    expect(moves).toBeLessThan(40);
    await on.node.redis.client('KILL', 'ID', on.clientId);
    const from = on;
    on = await eventually(async () => {
      const now = await readerSubscriber();
      return now && (now.node !== from.node || now.clientId !== from.clientId) ? now : undefined;
    }, 'the reader on another connection');
  }
  const warmup = await publishMany(gw.http, channel, 3);
  await client.waitForEvents(3);

  // Frozen, the node takes the cluster bus's copies of the announcements and never passes them on.
  on.node.server.process.kill('SIGSTOP');
  const missed = await publishMany(gw.http, channel, 5, 1);
  await sleep(200);
  const exited = once(on.node.server.process, 'exit');
  on.node.server.process.kill('SIGKILL');
  await exited;
  await eventually(async () => (await readerSubscriber())?.node !== undefined, 'the reader listening again');
  const live = await publishMany(gw.http, channel, 5, 1);

  await client.waitForEvents(13);
  expect(ids(client.events(channel))).toEqual([...warmup, ...missed, ...live]);
});
