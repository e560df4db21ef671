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
import type { Connection } from './connection.ts';
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
    closeForRestart(conn);
    if (++inBatch < batchSize) continue;
    logger.info({ closed: inBatch, left: connections.size }, 'drain batch');
    inBatch = 0;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (inBatch > 0) logger.info({ closed: inBatch, left: connections.size }, 'drain batch');
  while (connections.size > 0) await new Promise((resolve) => setTimeout(resolve, CLOSED_POLL_MS));
  core.supervisor.pool.send({ type: 'pool.drained' });
}

/**
 * DRAIN_TIMEOUT_MS passed with sockets left: those the batches had not reached are told at
 * once, with the same SERVICE_RESTART and jittered hint (a close frame costs no more than
 * dropping the socket, and spares the client an abnormal 1006); what still waits for its
 * peer's close after that (the ws edge waits for the answer) is dropped.
 */
export function closeRemaining(core: GatewayCore): void {
  const { connections, logger } = core;
  if (connections.size === 0) return;
  logger.warn({ sockets: connections.size }, 'drain timed out: closing the rest at once');
  for (const conn of [...connections.values()]) closeForRestart(conn);
  for (const conn of [...connections.values()]) conn.socket?.close();
}

/** The drain's close: SERVICE_RESTART, 1012, with the hint jittered so the clients spread out. */
function closeForRestart(conn: Connection): void {
  conn.close('SERVICE_RESTART', { retryAfterMs: jitteredRetryAfter('SERVICE_RESTART') });
}
