/**
 * The one TetherError a failure closes a socket with — a handshake step's, a replay's. Our
 * own refusals are TetherErrors already; anything else came from a port: the store not
 * serving (stalled, a lost connection, a cluster node down — STORE_UNAVAILABLE,
 * retryable, the client comes back) or a fault of ours (INTERNAL, its cause logged).
 * Never a raw error: its `code` (a Node system error's 'ECONNRESET', say) is not one
 * of the protocol's.
 */
import type { StoreReadiness } from './ports/store-readiness.ts';
import { TetherError } from './tether-error.ts';

export function codedFailure(error: unknown, readiness: StoreReadiness): TetherError {
  if (error instanceof TetherError) return error;
  const unavailable = readiness.isUnavailable(error) || !readiness.isReady();
  return new TetherError(unavailable ? 'STORE_UNAVAILABLE' : 'INTERNAL', { cause: error });
}
