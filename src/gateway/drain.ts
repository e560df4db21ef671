/**
 * Graceful drain: close sockets in batches with 1012 (service restart) so that
 * thousands of clients do not reconnect in the same millisecond, then tell the
 * pool it is drained. Sessions stay resumable in Redis; clients resume elsewhere.
 */
import { jitteredRetryAfter } from '../shared/errors.ts';
import type { GatewayContext } from './context.ts';

const BATCH_INTERVAL_MS = 50;

export async function drainConnections(ctx: GatewayContext, batchSize: number): Promise<void> {
  ctx.logger.info({ sockets: ctx.connections.size }, 'draining');
  while (ctx.connections.size > 0) {
    const batch = [...ctx.connections.values()].slice(0, batchSize);
    for (const conn of batch)
      conn.close('SERVICE_RESTART', { retryAfterMs: jitteredRetryAfter('SERVICE_RESTART') });
    ctx.logger.info({ closed: batch.length, left: ctx.connections.size }, 'drain batch');
    if (ctx.connections.size > 0) await new Promise((resolve) => setTimeout(resolve, BATCH_INTERVAL_MS));
  }
  ctx.supervisor.pool.send({ type: 'pool.drained' });
}
