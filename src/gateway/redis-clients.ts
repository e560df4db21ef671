/**
 * The Redis connections of one gateway process, each with one job:
 * - `commands`: sessions, appends, range reads, limits (pipelined, in order);
 * - `blocking`: the channel reader's XREAD BLOCK, which holds its connection;
 * - `subscriber`: pub/sub for the control bus (a subscribed connection can do nothing else);
 * - `bull`: BullMQ's (it requires maxRetriesPerRequest: null).
 */
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

export interface RedisClients {
  commands: Redis;
  blocking: Redis;
  subscriber: Redis;
  bull: Redis;
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

export async function connectRedis(url: string, nodeId: string, logger: Logger): Promise<RedisClients> {
  const base = { lazyConnect: true, connectionName: `tether:${nodeId}` };
  const clients: RedisClients = {
    commands: new Redis(url, { ...base, maxRetriesPerRequest: 2 }),
    blocking: new Redis(url, { ...base, maxRetriesPerRequest: null }),
    subscriber: new Redis(url, { ...base, maxRetriesPerRequest: 2 }),
    bull: new Redis(url, { ...base, maxRetriesPerRequest: null }),
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
  return clients;
}

export async function quitRedis(clients: RedisClients): Promise<void> {
  for (const client of [clients.subscriber, clients.blocking, clients.bull, clients.commands]) {
    // QUIT only over a live connection: while reconnecting, a client without a retry
    // limit (blocking, bull) would hold QUIT until Redis is back.
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
