/**
 * How many times the sockets of some connections closed. ioredis sends every command a lost
 * connection left unanswered again once it reconnects (autoResendUnfulfilledCommands; a
 * cluster retries a closed node's commands too), so a command sent before a drop and
 * answered after it may have run twice: a refusal of the second send (OOM, MISCONF,
 * LOADING) says nothing of the first, which may have written. A caller that reads a
 * refusal as "nothing ran" compares the count from before it sent with the count after.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from './redis-target.ts';

export class ConnectionDrops {
  private drops = 0;

  constructor(connections: readonly RedisConnection[]) {
    const watch = (node: Redis) => node.on('close', () => this.drops++);
    for (const connection of new Set(connections)) {
      if (connection instanceof Cluster) {
        for (const node of connection.nodes('all')) watch(node);
        connection.on('+node', watch);
      } else watch(connection);
    }
  }

  /** The closes so far: equal before a command was sent and once it was answered, it was sent once. */
  get count(): number {
    return this.drops;
  }
}
