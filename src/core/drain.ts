/**
 * Graceful drain: close sockets in batches with 1012 (service restart) so that
 * thousands of clients do not reconnect in the same millisecond, then tell the
 * pool it is drained. Sessions stay resumable in Redis; clients resume elsewhere.
 */
import { jitteredRetryAfter } from '../shared/errors.ts';
import type { GatewayCore } from './gateway-core.ts';

const BATCH_INTERVAL_MS = 50;

export async function drainConnections(core: GatewayCore, batchSize: number): Promise<void> {
  const { connections, logger } = core;
  logger.info({ sockets: connections.size }, 'draining');
  while (connections.size > 0) {
    const batch = [...connections.values()].slice(0, batchSize);
    for (const conn of batch)
      conn.close('SERVICE_RESTART', { retryAfterMs: jitteredRetryAfter('SERVICE_RESTART') });
    logger.info({ closed: batch.length, left: connections.size }, 'drain batch');
    if (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, BATCH_INTERVAL_MS));
  }
  core.supervisor.pool.send({ type: 'pool.drained' });
}
