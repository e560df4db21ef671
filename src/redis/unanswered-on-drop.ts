/**
 * Commands a lost connection left unanswered fail, on the connections appends go on, instead
 * of being sent again. ioredis sends every such command again once it reconnects
 * (autoResendUnfulfilledCommands; a cluster retries a closed node's commands elsewhere): an
 * append whose first send wrote the event and whose reply the drop took was written twice —
 * a duplicate no client asked for, acked once — or, refused the second time (OOM), was said
 * not to be written. Failed here, the publish hears that the event may be in the log, and
 * its idempotency key makes the retry safe: the client decides, as docs/protocol.md says.
 *
 * Relies on ioredis's `commandQueue` (the commands sent and not yet answered): its close
 * handler keeps that very queue aside (`prevCommandQueue`) to send again at the reconnect,
 * and emits `close` on the next tick, before any reconnect: emptied then, nothing is resent.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from './redis-target.ts';

/** What a connection's setup sends: never an append's, and ioredis's own to settle. */
const SETUP = new Set(['auth', 'select', 'info', 'client', 'hello', 'readonly']);

export class UnansweredOnDropError extends Error {
  override readonly name = 'UnansweredOnDropError';
  constructor() {
    super('the connection to Redis dropped before it answered: the command may have run');
  }
}

interface QueuedCommand {
  command: { name: string; reject(error: Error): void };
}
interface CommandQueue {
  readonly length: number;
  shift(): QueuedCommand | undefined;
  push(item: QueuedCommand): void;
}

function failOnClose(node: Redis): void {
  node.on('close', () => {
    const queue = (node as unknown as { commandQueue?: CommandQueue }).commandQueue;
    if (!queue) return;
    const kept: QueuedCommand[] = [];
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (SETUP.has(item.command.name)) kept.push(item);
      else item.command.reject(new UnansweredOnDropError());
    }
    for (const item of kept) queue.push(item);
  });
}

/** On each of `connections` (each node of a cluster, joined later too), fail what a drop leaves unanswered. */
export function failUnansweredOnDrop(connections: readonly RedisConnection[]): void {
  for (const connection of new Set(connections)) {
    if (connection instanceof Cluster) {
      for (const node of connection.nodes('all')) failOnClose(node);
      connection.on('+node', failOnClose);
    } else failOnClose(connection);
  }
}
