/**
 * Carries out the backend's orders (control-order.ts) on the sessions this process
 * holds. Lifecycle decisions go to the connection actors as events — the machine
 * decides what a disconnect, a block or a revocation does in each state
 * (machines/connection.machine.ts) — and subscriptions go through the core's own
 * subscribe and unsubscribe, so a server-side subscription is delivered, replayed and
 * recorded like any other.
 *
 * It keeps which actors belong to which user, read from their transitions (the user
 * is known once hello is authenticated), so an order for a user reaches its sessions
 * here without a scan.
 */
import type { Logger } from 'pino';
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import { OneOrMore } from '../core/one-or-more.ts';
import { subscribeByServer, unsubscribe } from '../core/subscriptions.ts';
import type { ControlOrder, ControlTarget } from './control-order.ts';

export class SessionControl {
  /** A user's actors: most users hold one, and a Set costs ~120 bytes more than a OneOrMore. */
  private readonly byUser = new Map<string, OneOrMore<ConnectionActor>>();

  constructor(
    private readonly core: GatewayCore,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.core.supervisor.onTransition((actor) => {
      const snapshot = actor.getSnapshot();
      const { userId } = snapshot.context;
      if (!userId) return;
      let actors = this.byUser.get(userId);
      if (snapshot.status === 'done') {
        actors?.delete(actor);
        if (actors?.size === 0) this.byUser.delete(userId);
        return;
      }
      if (!actors) {
        actors = new OneOrMore();
        this.byUser.set(userId, actors);
      }
      actors.add(actor);
    });
  }

  /** Carry `order` out here; returns how many of this process's sessions it reached. */
  execute(order: ControlOrder): number {
    switch (order.kind) {
      case 'disconnect':
        return this.each(order.target, (actor) =>
          actor.send({ type: 'server.disconnect', resumable: order.resumable, reason: order.reason }),
        );
      case 'block':
        return this.each({ userId: order.userId }, (actor) =>
          actor.send({ type: 'user.blocked', reason: order.reason }),
        );
      case 'revoke':
        return this.each({ userId: order.userId }, (actor) =>
          actor.send({ type: 'tokens.revoked', before: order.before }),
        );
      case 'subscribe':
      case 'unsubscribe':
        return this.each(order.target, (actor) => this.changeSubscription(actor, order));
    }
  }

  private changeSubscription(
    actor: ConnectionActor,
    { kind, channel, from }: Extract<ControlOrder, { kind: 'subscribe' | 'unsubscribe' }>,
  ): void {
    const snapshot = actor.getSnapshot();
    const { connectionId, sessionId } = snapshot.context;
    const conn = this.core.connections.get(connectionId);
    if (snapshot.value === 'connected' && conn?.welcomed) {
      if (kind === 'subscribe')
        subscribeByServer(this.core, conn, channel, from).catch((error: unknown) =>
          this.logger.warn({ err: error, channel, sessionId }, 'control: server-side subscribe failed'),
        );
      // Only a channel the connection holds: an `unsubscribed` without ref for one it never had
      // would tell its client of a change that did not happen.
      else if (conn.subscriptions.has(channel))
        unsubscribe(this.core, conn, { type: 'unsubscribe', channel });
      return;
    }
    // Waiting to be resumed: an unsubscribe is recorded so the resume leaves the channel out.
    if (kind === 'unsubscribe' && snapshot.value === 'reconnecting' && sessionId) {
      this.core.ports.sessions.dropChannel(sessionId, connectionId, channel).catch(() => {});
      this.core.ports.presence.unsubscribed(channel, sessionId);
    }
  }

  private each(target: ControlTarget, act: (actor: ConnectionActor) => void): number {
    const actors =
      'userId' in target
        ? [...(this.byUser.get(target.userId) ?? [])]
        : [this.core.supervisor.sessionActor(target.sessionId)].filter((a) => a !== undefined);
    for (const actor of actors) act(actor);
    return actors.length;
  }
}
