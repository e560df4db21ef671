/**
 * Admission for one authenticated connection: ask the pool; if admitted, go on;
 * if the pool is saturated, wait in the BullMQ priority queue (with `queued`
 * frames telling the client where it stands) until a slot frees or the
 * connection actor's admission timeout closes it with 1013. Also picks who is
 * shed when the pool is critical: welcomed connections only, lowest priority
 * first, newest first within it.
 */

import type { Connection } from '../gateway/connection.ts';
import type { GatewayContext } from '../gateway/context.ts';
import { jitteredHint } from '../shared/backoff.ts';
import { type ErrorCode, errorSpec } from '../shared/errors.ts';
import type { AdmissionQueue } from './admission-queue.ts';

export class AdmissionController {
  private readonly waiters = new Map<string, (admitted: boolean) => void>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly queue: AdmissionQueue,
  ) {}

  priorityOf(tier: string): number {
    const priorities = this.ctx.config.admission.tierPriorities;
    return priorities[tier] ?? Math.max(0, ...Object.values(priorities)) + 1;
  }

  /** Resolves true once `conn` holds a slot; false if it was refused or left. */
  admit(conn: Connection, priority: number): Promise<boolean> {
    conn.priority = priority;
    const decision = this.ctx.supervisor.requestAdmission(conn.id, priority);
    if (decision === 'granted') {
      conn.admitted = true;
      return Promise.resolve(true);
    }
    if (decision !== 'queued') {
      this.refuse(conn, decision);
      return Promise.resolve(false);
    }
    return new Promise((resolve) => this.waiters.set(conn.id, resolve));
  }

  /** Pool hook: the pool decided to queue `connectionId`. */
  onQueued(connectionId: string, priority: number): void {
    const conn = this.ctx.connections.get(connectionId);
    conn?.actor.send({ type: 'admission.queued', position: 0 });
    this.queue
      .enqueue(connectionId, priority, conn?.correlationId)
      .then(() => {
        this.announcePositions();
        return this.fill();
      })
      .catch((error) => {
        this.ctx.logger.warn({ err: error }, 'admission: enqueue failed');
        this.ctx.connections.get(connectionId)?.close('STORE_UNAVAILABLE');
      });
  }

  fill(): Promise<void> {
    return this.queue.fill(() => this.ctx.supervisor.freeSlots());
  }

  /** Queue hook: `connectionId` reached the front and a slot is free. */
  onAdmitted(connectionId: string, waitedMs: number): boolean {
    const resolve = this.waiters.get(connectionId);
    const conn = this.ctx.connections.get(connectionId);
    if (!resolve || !conn?.isOpen) return false;
    this.waiters.delete(connectionId);
    conn.admitted = true;
    this.ctx.supervisor.dequeued(connectionId, true);
    conn.actor.send({ type: 'admission.granted' });
    conn.logger.info({ waitedMs }, 'admitted from queue');
    resolve(true);
    this.announcePositions();
    return true;
  }

  /** The connection closed: free its slot or its place in line. */
  onClosed(conn: Connection): void {
    const resolve = this.waiters.get(conn.id);
    if (resolve) {
      this.waiters.delete(conn.id);
      this.queue.leave(conn.id);
      this.ctx.supervisor.dequeued(conn.id, false);
      resolve(false);
      this.announcePositions(); // everyone behind it moved up
      return;
    }
    if (conn.admitted) this.ctx.supervisor.release(conn.id);
  }

  /** Close the lowest-priority connections first; their sessions stay resumable. */
  shed(): void {
    const victims = shedVictims(this.ctx.connections.values(), this.ctx.config.admission.shedBatchRatio);
    for (const conn of victims) conn.close('LOAD_SHED', { retryAfterMs: jitteredHint(2000) });
    this.ctx.logger.warn({ shed: victims.length }, 'shedding load');
  }

  /** Tell every waiter where it stands now. */
  private announcePositions(): void {
    for (const [id, position] of this.queue.positions()) {
      if (!this.waiters.has(id)) continue;
      this.ctx.connections
        .get(id)
        ?.send({ type: 'queued', position, estimatedWaitMs: this.queue.estimatedWaitMs(position) });
    }
  }

  private refuse(conn: Connection, code: ErrorCode): void {
    conn.close(code, { retryAfterMs: jitteredHint(errorSpec(code).retryAfterMs ?? 1000) });
  }
}

type Sheddable = Pick<Connection, 'welcomed' | 'priority' | 'openedAt'>;

/**
 * Who one shedding step closes: `ratio` of the welcomed connections (at least one),
 * lowest priority first (highest number), newest first within a priority. Only the
 * welcomed: one still between admission and welcome has no resumable session yet
 * (its client lacks the resume token), so closing it would fail it outright.
 */
export function shedVictims<C extends Sheddable>(connections: Iterable<C>, ratio: number): C[] {
  const welcomed = [...connections].filter((c) => c.welcomed);
  welcomed.sort((a, b) => b.priority - a.priority || b.openedAt - a.openedAt);
  return welcomed.slice(0, Math.max(1, Math.floor(welcomed.length * ratio)));
}
