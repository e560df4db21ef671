/**
 * In-band token refresh: a `refresh` frame carries a new token for the same user.
 * It is verified by the same rules as hello's; accepted, the connection runs on it
 * (its claims, its expiry: the actor's timer starts again), channels the new token no
 * longer allows are dropped (not the backend's server-side ones), and `refreshed`
 * answers. A token the backend revoked closes with AUTH_TOKEN_REVOKED; a blocked user's
 * session ends (USER_BLOCKED). Refused, the connection closes
 * with AUTH_REFRESH_REJECTED (4004) and the session stays resumable.
 */
import type { RefreshFrame } from '../shared/frames.ts';
import { connectionMayRead } from './channel-access.ts';
import type { Connection } from './connection.ts';
import type { GatewayCore } from './gateway-core.ts';
import type { Principal } from './principal.ts';
import { unsubscribe } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';

export async function refreshToken(core: GatewayCore, conn: Connection, frame: RefreshFrame): Promise<void> {
  const { ref } = frame;
  let principal: Principal;
  try {
    principal = await core.ports.verifier.verify(frame.token);
  } catch (error) {
    const why =
      error instanceof TetherError ? (error.detail ?? error.code) : 'the token could not be verified';
    conn.close('AUTH_REFRESH_REJECTED', { ref, detail: why });
    return;
  }
  if (principal.userId !== conn.principal?.userId) {
    conn.close('AUTH_REFRESH_REJECTED', { ref, detail: 'the token is for another user' });
    return;
  }
  // Already live: a store that cannot answer does not end the connection.
  const revoked = await core.ports.revocations.refusal(principal).catch(() => undefined);
  if (revoked === 'USER_BLOCKED') {
    conn.actor.send({ type: 'user.blocked' }); // the session ends: the machine decides so
    return;
  }
  if (revoked) {
    conn.close(revoked, { ref }); // like a refused refresh: the session stays resumable
    return;
  }
  if (!conn.isOpen) return;
  conn.principal = principal;
  for (const channel of [...conn.subscriptions.keys()]) {
    if (connectionMayRead(conn, channel)) continue; // on the new token, or the backend's choice
    // The reason first: an `unsubscribed` without a ref alone is the backend's unsubscribe (§14).
    conn.fail('FORBIDDEN_CHANNEL', { detail: `dropped ${channel} on refresh` });
    unsubscribe(core, conn, { type: 'unsubscribe', channel });
  }
  conn.actor.send({
    type: 'token.refreshed',
    tokenExpiresAt: principal.expiresAt,
    tokenIssuedAt: principal.issuedAt,
  });
  conn.send({ type: 'refreshed', ref, tokenExpiresAt: principal.expiresAt });
}
