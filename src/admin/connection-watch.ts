/**
 * What the admin routes and live inspection know of connection actors: each
 * actor's recent transitions (for `GET /connections/:id`) and, when INSPECT asks,
 * the live Stately inspector. Fed by the supervisor's transitions — lifecycle only.
 */
import type { InspectConfig } from '../config/config.ts';
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { Supervisor } from '../core/supervisor.ts';
import type { Logger } from '../observability/logger.ts';
import { LiveInspector } from './live-inspector.ts';
import { TransitionHistory } from './transition-history.ts';

export class ConnectionWatch {
  readonly history = new TransitionHistory<ConnectionActor>();
  private inspector: LiveInspector | undefined;
  private stopped = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly inspect: InspectConfig,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.supervisor.onTransition((actor, from, _to, fromTop, toTop) => {
      this.onTransition(actor, fromTop, toTop);
      this.considerForInspection(actor, from);
    });
    this.startInspector();
  }

  stop(): void {
    this.stopped = true;
    this.inspector?.stop();
  }

  /**
   * INSPECT: the bridge starts in the background (it loads @statelyai/inspect);
   * connection actors started before it listens are not inspected.
   */
  private startInspector(): void {
    LiveInspector.start(this.inspect, this.logger)?.then(
      (inspector) => {
        if (this.stopped) return inspector.stop();
        this.inspector = inspector;
        inspector.attachPool(this.supervisor.pool);
      },
      (error: Error) =>
        this.logger.warn(
          { err: error, port: this.inspect.port },
          'live inspection: the bridge did not start',
        ),
    );
  }

  /** Top-level states only: the history tells a connection's life, not its handshake steps. */
  private onTransition(actor: ConnectionActor, from: string | undefined, to: string): void {
    if (from === to) return;
    const { context } = actor.getSnapshot();
    const detail =
      to === 'failed'
        ? context.failure
        : to === 'closed'
          ? context.closeReason
          : to === 'reconnecting'
            ? context.lastCloseReason
            : undefined;
    this.history.record(actor, { at: Date.now(), from, to, connectionId: context.connectionId, detail });
  }

  /**
   * Every step, not only top-level changes: `users:` attaches an actor as soon as it is
   * authenticated (`connecting.handshake.admitting`), so a user's refusal in admission or
   * in the attach step is shown too, not only the sessions that reached `connected`.
   */
  private considerForInspection(actor: ConnectionActor, from: string | undefined): void {
    if (!this.inspector) return;
    if (from === undefined) this.inspector.consider(actor, undefined);
    else {
      const { userId } = actor.getSnapshot().context;
      if (userId !== undefined) this.inspector.consider(actor, userId);
    }
  }
}
