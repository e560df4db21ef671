/**
 * The gate in front of a session: rate limits, token verification (with a
 * progressive delay after repeated failures), per-user limits, then admission —
 * possibly a wait in the priority queue. Resolves with the principal once the
 * connection holds a slot; undefined when it was turned away (already closed).
 */
import type { Principal } from '../auth/principal.ts';
import { TetherError } from '../errors/tether-error.ts';
import { traceAdmission } from '../observability/connection-events.ts';
import type { HelloFrame } from '../shared/frames.ts';
import type { Connection } from './connection.ts';

export async function authenticateAndAdmit(
  conn: Connection,
  frame: HelloFrame,
): Promise<Principal | undefined> {
  const { ctx } = conn;
  let principal: Principal;
  try {
    // No session can be created without Redis: say so now rather than after the
    // limits' commands have waited out their retries.
    if (ctx.redis.status !== 'ready') throw new TetherError('STORE_UNAVAILABLE');
    await ctx.limits.beforeAuth(conn);
    try {
      principal = await ctx.verifier.verify(frame.token);
    } catch (error) {
      // Past the IP's failure budget this throws AUTH_RATE_LIMITED instead (parallel hellos).
      const delayMs = await ctx.limits.authFailed(conn);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      throw error;
    }
    if (!conn.isOpen) return undefined;
    await ctx.limits.afterAuth(conn, principal);
  } catch (error) {
    // The verifier throws TetherErrors for every token problem; anything else came from
    // the limits' Redis calls and says nothing about the token, so it must stay retryable.
    const rejection =
      error instanceof TetherError
        ? error
        : new TetherError(ctx.redis.status === 'ready' ? 'INTERNAL' : 'STORE_UNAVAILABLE', { cause: error });
    conn.logger.info({ code: rejection.code, detail: rejection.detail }, 'hello rejected');
    conn.close(rejection.code, { retryAfterMs: rejection.retryAfterMs, detail: rejection.detail });
    return undefined;
  }
  if (!conn.isOpen) return undefined;
  conn.principal = principal;
  const admitted = await traceAdmission(conn, ctx.admission.priorityOf(principal.tier), (priority) =>
    ctx.admission.admit(conn, priority),
  );
  return admitted && conn.isOpen ? principal : undefined;
}
