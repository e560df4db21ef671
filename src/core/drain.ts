/**
 * Graceful drain: close sockets in batches with 1012 (service restart), then tell
 * the pool it is drained. Sessions stay resumable in Redis; clients resume elsewhere.
 *
 * Clients do not come back together: each is told a `retryAfterMs` jittered ±50 %
 * (src/shared/errors.ts `jitteredRetryAfter`) and the SDK waits at least that long.
 * Between batches the loop only yields (setImmediate) so Redis replies and timers
 * run: a pause there would lengthen the restart without spreading the returns any
 * further than the jitter does, and the exiting process needs its CPU for nothing else.
 */
import { jitteredRetryAfter } from '../shared/errors.ts';
import type { GatewayCore } from './gateway-core.ts';

/** How often to look again for sockets whose close completes later (the ws edge waits for the peer's close frame). */
const CLOSED_POLL_MS = 50;

export async function drainConnections(core: GatewayCore, batchSize: number): Promise<void> {
  const { connections, logger } = core;
  logger.info({ sockets: connections.size }, 'draining');
  // One pass over the live map, no copy: a closed connection leaves it (socketClosed),
  // which a Map iterator tolerates, and none is visited twice.
  let inBatch = 0;
  for (const conn of connections.values()) {
    conn.close('SERVICE_RESTART', { retryAfterMs: jitteredRetryAfter('SERVICE_RESTART') });
    if (++inBatch < batchSize) continue;
    logger.info({ closed: inBatch, left: connections.size }, 'drain batch');
    inBatch = 0;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (inBatch > 0) logger.info({ closed: inBatch, left: connections.size }, 'drain batch');
  while (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, CLOSED_POLL_MS));
  core.supervisor.pool.send({ type: 'pool.drained' });
}
