/**
 * The Redis connections of one gateway process, each with one job:
 * - `commands`: sessions, range reads, limits; the commands of one event-loop turn
 *   leave in one write, in order (turn-writes.ts; on a cluster ioredis's auto-pipeline,
 *   one write per node per client frame);
 * - `feed`: the channel reader's pub/sub (a subscribed connection can do nothing else),
 *   re-subscribed by the reader itself after a reconnect (it must know when); on a
 *   cluster with sharded pub/sub, one subscriber per master (ioredis `shardedSubscribers`);
 * - `subscriber`: pub/sub for the control bus;
 * - `bull`: BullMQ's (it requires maxRetriesPerRequest: null);
 * - `appends`: the event log's appends alone, one write per turn as well: Redis answers
 *   a connection's commands in order, so an ack never waits behind a replay's page of
 *   events or a storm's session reads on `commands`;
 * - `acks`: only with PUBLISH_ACK_REPLICAS, a few connections for appends sent with
 *   WAIT: WAIT blocks the connection it is sent on until the replicas answer (up to
 *   PUBLISH_ACK_TIMEOUT_MS), so on `commands` it would stall every command behind it;
 *   one WAIT at a time on each, behind a batch of appends (src/channels/ack-lanes.ts).
 * REDIS_URL names one server, a cluster or a Sentinel-watched master (redis-target.ts).
 */
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../config/config-error.ts';
import type { Logger } from '../observability/logger.ts';
import { OutageLog } from '../observability/outage-log.ts';
import { warnIfEvicting } from './eviction-policy.ts';
import {
  createRedisClient,
  defaultPubSub,
  isCluster,
  masters,
  nodeName,
  type PubSubMode,
  parseRedisUrl,
  type RedisConnection,
  type RedisTarget,
  redact,
} from './redis-target.ts';
import { writeOncePerTurn } from './turn-writes.ts';
import { failUnansweredOnDrop } from './unanswered-on-drop.ts';

export interface RedisClients {
  commands: RedisConnection;
  feed: RedisConnection;
  subscriber: RedisConnection;
  bull: RedisConnection;
}

export interface ConnectedRedis extends RedisClients {
  /** The event log's appends (src/channels/event-log.ts). */
  appends: RedisConnection;
  /** Connections for appends that wait for replicas (empty without PUBLISH_ACK_REPLICAS). */
  acks: RedisConnection[];
  target: RedisTarget;
  pubsub: PubSubMode;
  /** Redis outages, and the errors of what uses Redis (BullMQ's queues and workers), logged without a flood. */
  outage: OutageLog;
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

export async function connectRedis(
  url: string,
  nodeId: string,
  logger: Logger,
  pubsub?: PubSubMode,
  /** Replicas an append waits for (PUBLISH_ACK_REPLICAS): above 0, the `acks` connections exist. */
  ackReplicas = 0,
): Promise<ConnectedRedis> {
  const target = parseRedisUrl(url);
  const mode = pubsub ?? defaultPubSub(target);
  const onCluster = target.kind === 'cluster';
  // Named `tether:<node>:<role>`, so CLIENT LIST tells an operator which connection is which.
  const client = (role: string, extra: RedisOptions, sharded = false) =>
    createRedisClient(
      target,
      { lazyConnect: true, connectionName: `tether:${nodeId}:${role}`, ...extra },
      { shardedSubscribers: sharded },
    );
  const clients: RedisClients = {
    commands: client('commands', { maxRetriesPerRequest: 2, enableAutoPipelining: onCluster }),
    feed: client('feed', { maxRetriesPerRequest: null, autoResubscribe: false }, mode === 'sharded'),
    subscriber: client('subscriber', { maxRetriesPerRequest: 2 }),
    bull: client('bull', { maxRetriesPerRequest: null }),
  };
  const appends = client('appends', { maxRetriesPerRequest: 2, enableAutoPipelining: onCluster });
  for (const connection of [clients.commands, appends])
    if (!isCluster(connection)) writeOncePerTurn(connection);
  // Its own, so a slow WAIT holds no other command; one, so appends keep their order
  // (ack-lanes.ts batches what waits behind a WAIT, and refuses it in time).
  const acks = Array.from({ length: ackReplicas > 0 ? ACK_CONNECTIONS : 0 }, (_, i) =>
    client(`acks-${i}`, { maxRetriesPerRequest: 2 }),
  );
  // An append a drop left unanswered fails ("may be in the log"), never runs twice.
  failUnansweredOnDrop([appends, ...acks]);
  const every = [...Object.values(clients), appends, ...acks];
  const named = [
    ...Object.entries(clients),
    ['appends', appends] as const,
    ...acks.map((c) => ['acks', c] as const),
  ];
  for (const [name, connection] of named) {
    connection.on('error', (error: Error) =>
      logger.debug({ err: error, client: name }, 'redis connection error'),
    );
  }
  const outage = new OutageLog(logger, 'redis');
  outage.follow(clients.commands, () => logger.info({ redis: target.kind, pubsub: mode }, 'redis ready'));
  const fail = (message: string) => {
    for (const connection of every) connection.disconnect();
    return new RedisUnreachableError(message);
  };
  let versions: Awaited<ReturnType<typeof redisVersions>>;
  try {
    // Bounded: a cluster client whose slot map names a node that is gone can retry
    // for a long time, and a start that neither succeeds nor fails helps no one.
    versions = await withinMs(CONNECT_TIMEOUT_MS, async () => {
      await Promise.all(every.map((connection) => connection.connect()));
      return redisVersions(clients.commands);
    });
  } catch (error) {
    throw fail(
      onCluster
        ? `The Redis Cluster at ${redact(url)} did not become usable (${(error as Error).message}): every seed unreachable, or the cluster not serving every slot (CLUSTER INFO). Start its nodes, fix the cluster, or fix REDIS_URL.`
        : `Redis at ${redact(url)} is not reachable (${(error as Error).message}). Start Redis or fix REDIS_URL.`,
    );
  }
  if (target.kind === 'standalone' && target.db > 0) {
    // ioredis SELECTs the URL's database on every connection, but a SELECT the server
    // refuses only emits an error: the connection carries on in database 0 while BullMQ's
    // repeat theirs forever. Refused here instead, as the configuration error it is.
    const refused = await clients.commands.select(target.db).then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (refused) {
      for (const connection of every) connection.disconnect();
      throw new ConfigError([
        `REDIS_URL=${JSON.stringify(redact(url))}: this Redis has no database ${target.db} (${refused}); its \`databases\` setting bounds the number`,
      ]);
    }
  }
  for (const version of versions) {
    if (version.major < MIN_REDIS_MAJOR)
      throw fail(
        `Redis ${version.text} at ${version.node} is too old: Tether needs Redis ${MIN_REDIS_MAJOR} or newer (XINFO STREAM reports trimmed events only from 7.0, and gaps must never be silent).`,
      );
  }
  void warnIfEvicting(clients.commands, logger);
  return { ...clients, appends, acks, target, pubsub: mode, outage };
}

/** Connections for appends with WAIT (`acks`): one lane per master (src/channels/event-log.ts). */
const ACK_CONNECTIONS = 1;
const MIN_REDIS_MAJOR = 7;
/** How long connecting and asking every master's version may take at start, ms. */
const CONNECT_TIMEOUT_MS = 15_000;

function withinMs<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work(), late]).finally(() => clearTimeout(timer));
}

/** The version of every master (a cluster's nodes may be upgraded one by one). */
export async function redisVersions(
  redis: RedisConnection,
): Promise<{ node: string; major: number; text: string }[]> {
  return Promise.all(
    masters(redis).map(async (node) => {
      const info = await node.info('server');
      const text = /^redis_version:(\S+)/m.exec(info)?.[1] ?? '0';
      return {
        node: nodeName(node),
        major: Number.parseInt(text, 10) || 0,
        text,
      };
    }),
  );
}

export async function quitRedis(
  clients: RedisClients & { appends?: RedisConnection; acks?: RedisConnection[] },
  { wait = true }: { wait?: boolean } = {},
): Promise<void> {
  for (const client of [
    clients.subscriber,
    clients.feed,
    clients.bull,
    ...(clients.appends ? [clients.appends] : []),
    ...(clients.acks ?? []),
    clients.commands,
  ]) {
    // QUIT only over a live connection: while reconnecting, a client without a retry
    // limit (feed, bull) would hold QUIT until Redis is back.
    // wait: false (Redis not answering): a QUIT on an open connection would wait for it too.
    if (!wait || client.status !== 'ready') {
      client.disconnect();
      continue;
    }
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }
}
