/**
 * The one place a connection to what `REDIS_URL` names (src/config/redis-url.ts) is
 * made, for the gateway, the action worker and BullMQ alike: one server, a Redis
 * Cluster (ioredis `Cluster`), or a Sentinel-watched master (ioredis follows a
 * failover by asking the Sentinels again).
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config/redis-url.ts';

export {
  defaultActionShards,
  defaultPubSub,
  type PubSubMode,
  parseRedisUrl,
  type RedisTarget,
  RedisUrlError,
  redact,
} from '../config/redis-url.ts';

/** A connection to whatever REDIS_URL names: one server (also behind Sentinel) or a cluster. */
export type RedisConnection = Redis | Cluster;

/**
 * One client for `target`. `options` are per connection (as for `new Redis`); on a
 * cluster they apply to every node's connection, except the few that are the
 * cluster's own (auto-pipelining, lazy connect, retries per request).
 */
export function createRedisClient(
  target: RedisTarget,
  options: RedisOptions,
  cluster: Pick<ClusterOptions, 'shardedSubscribers'> = {},
): RedisConnection {
  if (target.kind === 'standalone') return new Redis(target.url, options);
  const auth = { username: target.username, password: target.password };
  if (target.kind === 'sentinel')
    return new Redis({
      ...options,
      ...auth,
      sentinels: target.sentinels,
      name: target.masterName,
      // Reconnect when the Sentinels announce a new master (+switch-master). Without it the
      // connection keeps writing to the old master until the Sentinels demote it (~10 s),
      // and the resync from the new master wipes every event acked there meanwhile.
      failoverDetector: true,
      ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    });
  const { lazyConnect, enableAutoPipelining, maxRetriesPerRequest, ...perNode } = options;
  return new Cluster(target.nodes, {
    lazyConnect,
    enableAutoPipelining,
    maxRedirections: 16,
    // A graceful failover or a moved slot leaves a sharded subscriber connected to a
    // node that no longer serves its channels, with no error to notice: the slot map
    // is read again on a timer, and a changed one re-subscribes (channel-reader.ts
    // then catches up from the streams).
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    ...cluster,
    redisOptions: { ...perNode, ...auth, maxRetriesPerRequest, ...(target.tls ? { tls: {} } : {}) },
  });
}

/** How often a cluster client re-reads the slot map, ms. */
const SLOTS_REFRESH_MS = 2000;

/** Every master of a cluster, or the one server: where SCAN, INFO and PING must go. */
export function masters(redis: RedisConnection): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** `host:port` of one server, for reports. */
export function nodeName(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

export function isCluster(redis: RedisConnection): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * The server that holds `key`: `host:port` of its slot's master on a cluster (as the
 * client's slot map says now), '' for one server (also behind Sentinel).
 */
export function serverOf(redis: RedisConnection, key: string): string {
  if (!(redis instanceof Cluster)) return '';
  return redis.slots[keySlot(key)]?.[0] ?? '';
}

/** A key's cluster slot, as ioredis computes it. */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
