/**
 * The Redis connections of one gateway process, each with one job:
 * - `commands`: sessions, appends, range reads, limits (auto-pipelined: the commands
 *   of one event-loop turn leave in one write, in order);
 * - `feed`: the channel reader's pub/sub (a subscribed connection can do nothing else),
 *   re-subscribed by the reader itself after a reconnect (it must know when);
 * - `subscriber`: pub/sub for the control bus;
 * - `bull`: BullMQ's (it requires maxRetriesPerRequest: null).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

export interface RedisClients {
  commands: Redis;
  feed: Redis;
  subscriber: Redis;
  bull: Redis;
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

export async function connectRedis(url: string, nodeId: string, logger: Logger): Promise<RedisClients> {
  // Named `tether:<node>:<role>`, so CLIENT LIST tells an operator which connection is which.
  const options = (role: keyof RedisClients, extra: RedisOptions) => ({
    lazyConnect: true,
    connectionName: `tether:${nodeId}:${role}`,
    ...extra,
  });
  const clients: RedisClients = {
    commands: new Redis(url, options('commands', { maxRetriesPerRequest: 2, enableAutoPipelining: true })),
    feed: new Redis(url, options('feed', { maxRetriesPerRequest: null, autoResubscribe: false })),
    subscriber: new Redis(url, options('subscriber', { maxRetriesPerRequest: 2 })),
    bull: new Redis(url, options('bull', { maxRetriesPerRequest: null })),
  };
  for (const [name, client] of Object.entries(clients)) {
    client.on('error', (error: Error) =>
      logger.debug({ err: error, client: name }, 'redis connection error'),
    );
  }
  clients.commands.on('ready', () => logger.info('redis ready'));
  clients.commands.on('close', () => logger.warn('redis connection lost; reconnecting'));
  try {
    await Promise.all(Object.values(clients).map((client) => client.connect()));
  } catch (error) {
    for (const client of Object.values(clients)) client.disconnect();
    throw new RedisUnreachableError(
      `Redis at ${url.replace(/\/\/[^@]*@/, '//***@')} is not reachable (${(error as Error).message}). Start Redis or fix REDIS_URL.`,
    );
  }
  const version = await redisVersion(clients.commands);
  if (version.major < MIN_REDIS_MAJOR) {
    for (const client of Object.values(clients)) client.disconnect();
    throw new RedisUnreachableError(
      `Redis ${version.text} is too old: Tether needs Redis ${MIN_REDIS_MAJOR} or newer (XINFO STREAM reports trimmed events only from 7.0, and gaps must never be silent).`,
    );
  }
  return clients;
}

const MIN_REDIS_MAJOR = 7;

async function redisVersion(redis: Redis): Promise<{ major: number; text: string }> {
  const info = await redis.info('server');
  const text = /^redis_version:(\S+)/m.exec(info)?.[1] ?? '0';
  return { major: Number.parseInt(text, 10) || 0, text };
}

export async function quitRedis(clients: RedisClients): Promise<void> {
  for (const client of [clients.subscriber, clients.feed, clients.bull, clients.commands]) {
    // QUIT only over a live connection: while reconnecting, a client without a retry
    // limit (feed, bull) would hold QUIT until Redis is back.
    if (client.status !== 'ready') {
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
