/**
 * Lifecycle notifications for backends, as events on reserved channels
 * (docs/protocol.md, "Reserved channels"):
 * - `system:sessions`: `session.started` when a session is created (not resumed), and
 *   `session.ended` when it ends — closed (the client said bye) or failed (its resume
 *   window passed: RESUME_EXPIRED) — read from the connection actors' transitions, as
 *   observability reads them (src/observability/gateway-observer.ts). A session that
 *   moved to another process (resumed there) has not ended.
 * - `system:channels`: `channel.occupied` (first subscriber across every process) and
 *   `channel.vacated` (last one gone), from the subscriber count
 *   (src/channels/channel-occupancy.ts).
 *
 * Why channels and not webhooks: they are the event log every client already reads —
 * durable, ordered, with IDs and epochs, read live over a socket or paged with
 * `since` over HTTP, so a backend that was down catches up instead of depending on a
 * retry queue; nothing to sign, no URL to keep reachable. Appends go through the
 * EventStore like any publish, one after another per process (so a session's start
 * is in the log before its end when one process saw both).
 */
import type { Logger } from 'pino';
import type { OccupancyChange } from '../channels/channel-occupancy.ts';
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { EventStore } from '../core/ports/event-store.ts';
import type { Supervisor } from '../core/supervisor.ts';
import { CHANNELS_CHANNEL, SESSIONS_CHANNEL } from '../shared/frames.ts';

export interface LifecycleNotifierOptions {
  nodeId: string;
  /** Append session.started / session.ended to system:sessions. */
  sessions: boolean;
  /** Append channel.occupied / channel.vacated to system:channels. */
  channels: boolean;
  logger: Logger;
}

/** Notifications waiting for their append, at most: past it (a long Redis outage) new ones are dropped and logged. */
const MAX_PENDING = 10_000;

export class LifecycleNotifier {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly events: EventStore,
    private readonly options: LifecycleNotifierOptions,
  ) {}

  /** Hear the connection actors' transitions (session start and end). */
  watch(supervisor: Supervisor): void {
    if (this.options.sessions)
      supervisor.onTransition((actor, from, to) => this.onTransition(actor, from, to));
  }

  /** A channel became occupied or vacated. */
  channelChanged(change: OccupancyChange): void {
    if (!this.options.channels) return;
    const { channel, state, subscribers, at, cause } = change;
    this.notify(CHANNELS_CHANNEL, '', {
      type: `channel.${state}`,
      channel,
      subscribers,
      ...(cause ? { cause } : {}),
      at,
      node: this.options.nodeId,
    });
  }

  /** Resolves once every notification handed over so far was appended (or failed). */
  flushed(): Promise<void> {
    return this.tail;
  }

  private onTransition(actor: ConnectionActor, from: string | undefined, to: string): void {
    const context = actor.getSnapshot().context;
    const { sessionId, userId, correlationId } = context;
    if (!sessionId) return;
    const node = this.options.nodeId;
    if (to === 'connected' && from?.startsWith('connecting') && context.resumed === false) {
      this.notify(SESSIONS_CHANNEL, correlationId, {
        type: 'session.started',
        sessionId,
        userId,
        tier: context.tier,
        connectionId: context.connectionId,
        correlationId,
        at: Date.now(),
        node,
      });
      return;
    }
    if ((to === 'closed' || to === 'failed') && context.takenBy === undefined) {
      this.notify(SESSIONS_CHANNEL, correlationId, {
        type: 'session.ended',
        sessionId,
        userId,
        outcome: to,
        reason: to === 'failed' ? context.failure : context.closeReason,
        correlationId,
        at: Date.now(),
        node,
      });
    }
  }

  private notify(channel: string, correlationId: string, data: Record<string, unknown>): void {
    if (this.pending >= MAX_PENDING) {
      this.options.logger.warn({ channel, notification: data }, 'notification dropped: too many waiting');
      return;
    }
    this.pending++;
    const json = JSON.stringify(data);
    this.tail = this.tail
      .then(() => this.events.append(channel, json, correlationId))
      .then(
        () => {},
        (error: unknown) =>
          this.options.logger.warn({ err: error, channel, notification: data }, 'notification not appended'),
      )
      .finally(() => {
        this.pending--;
      });
  }
}
