/**
 * Applies the rate limits to one connection's life: the per-IP attempt count at
 * open (a refusal closes the socket at once), then at hello the auth-failure gate,
 * the per-user attempt count and the concurrent-connection slots (released when the
 * socket closes). The core's ConnectionGate port for hello; a lifecycle listener
 * (src/core/lifecycle.ts) for open and close, and for the refusals it counts as hits.
 */
import type { Connection } from '../core/connection.ts';
import type { LifecycleListener } from '../core/lifecycle.ts';
import type { ConnectionGate } from '../core/ports/connection-gate.ts';
import type { Principal } from '../core/principal.ts';
import { TetherError } from '../core/tether-error.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { limitKey } from './client-address.ts';
import type { RateLimits } from './rate-limits.ts';

type Slot = { scope: 'ip' | 'user'; id: string; member: string };

export class ConnectionLimits implements ConnectionGate, LifecycleListener {
  private readonly slots = new Map<string, Slot[]>();
  /** The per-IP attempt check started at open, by socket: hello waits for it. */
  private readonly ipChecked = new WeakMap<Connection, Promise<void>>();

  constructor(readonly limits: RateLimits) {}

  /**
   * Start the per-IP attempt check without blocking the socket's open. A refusal closes the
   * socket as soon as it is known: a flood of sockets that never say hello must not each
   * hold a socket and an actor until the handshake timeout. A hello meanwhile sees it too.
   */
  opened(conn: Connection): void {
    const checked = this.limits.attemptFromIp(limitKey(conn.handshake.ip));
    this.ipChecked.set(conn, checked);
    checked.catch((error: unknown) => {
      if (error instanceof TetherError)
        conn.close(error.code, { retryAfterMs: error.retryAfterMs, detail: error.detail });
    });
  }

  /** Before verifying a token: the IP's attempt budget and its failed-auth budget. */
  async beforeAuth(conn: Connection): Promise<void> {
    await this.ipChecked.get(conn);
    await this.limits.assertAuthAllowed(limitKey(conn.handshake.ip));
  }

  /** A token failed: returns how long to stall before answering (progressive delay). */
  authFailed(conn: Connection): Promise<number> {
    return this.limits.authFailed(limitKey(conn.handshake.ip));
  }

  /**
   * After a good token: the user's attempt budget and both concurrency slots, asked in one
   * turn (one round trip, in one write with the revocation check), refusals in that order.
   * A slot claimed beside a refused attempt is released with the socket's close, as is one
   * claimed beside a refused slot. The socket may close while a claim is in flight; `closed`
   * has then already released what was held, so a slot claimed after it is released at
   * once — kept, it would be refreshed with the others (or, untracked, block the user until
   * its lease ends, 2 × SESSION_LEASE_MS).
   */
  async afterAuth(conn: Connection, principal: Principal): Promise<void> {
    const held: Slot[] = [];
    this.slots.set(conn.id, held);
    const claim = async (scope: Slot['scope'], id: string) => {
      if (!(await this.limits.claimSlot(scope, id, conn.id))) return;
      if (conn.isOpen) held.push({ scope, id, member: conn.id });
      else this.limits.releaseSlot(scope, id, conn.id);
    };
    const outcomes = await Promise.allSettled([
      this.limits.attemptByUser(principal.userId),
      claim('ip', limitKey(conn.handshake.ip)),
      claim('user', principal.userId),
    ]);
    const refused = outcomes.find((o) => o.status === 'rejected');
    if (refused) throw refused.reason;
  }

  /** Hits are the refusals clients receive: one per refused socket, whichever checks failed. */
  errorReported(_conn: Connection, code: ErrorCode): void {
    this.limits.countRefusal(code);
  }

  closed(conn: Connection): void {
    for (const slot of this.slots.get(conn.id) ?? [])
      this.limits.releaseSlot(slot.scope, slot.id, slot.member);
    this.slots.delete(conn.id);
  }

  refresh(): Promise<void> {
    return this.limits.refreshSlots([...this.slots.values()].flat());
  }
}
