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
import { type ErrorCode, jitteredRetryAfter } from '../shared/errors.ts';
import type { AdmissionQueue } from './admission-queue.ts';

/** Positions are re-announced at most this often: a storm of joins and admissions is not N² frames. */
const ANNOUNCE_INTERVAL_MS = 250;

export class AdmissionController {
  private readonly waiters = new Map<string, (admitted: boolean) => void>();
  /** The position each waiter was last told. */
  private readonly announced = new Map<string, number>();
  private announceTimer: NodeJS.Timeout | undefined;
  private announcedAt = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly queue: AdmissionQueue,
  ) {}

  priorityOf(tier: string): number {
    return tierPriority(this.ctx.config.admission.tierPriorities, tier);
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
        // The newcomer hears where it stands at once; those it moved behind it, soon.
        const position = this.queue.positionOf(connectionId);
        if (position !== undefined) this.tell(connectionId, position);
        this.announceSoon();
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
    this.announced.delete(connectionId);
    conn.admitted = true;
    this.ctx.supervisor.dequeued(connectionId, true);
    conn.actor.send({ type: 'admission.granted' });
    conn.logger.info({ waitedMs }, 'admitted from queue');
    resolve(true);
    this.announceSoon();
    return true;
  }

  /** The connection closed: free its slot or its place in line. */
  onClosed(conn: Connection): void {
    const resolve = this.waiters.get(conn.id);
    if (resolve) {
      this.waiters.delete(conn.id);
      this.announced.delete(conn.id);
      this.queue.leave(conn.id);
      this.ctx.supervisor.dequeued(conn.id, false);
      resolve(false);
      this.announceSoon(); // everyone behind it moved up
      return;
    }
    if (conn.admitted) this.ctx.supervisor.release(conn.id);
  }

  /** Close the lowest-priority connections first; their sessions stay resumable. */
  shed(): void {
    const victims = shedVictims(this.ctx.connections.values(), this.ctx.config.admission.shedBatchRatio);
    for (const conn of victims) conn.close('LOAD_SHED', { retryAfterMs: jitteredRetryAfter('LOAD_SHED') });
    this.ctx.logger.warn({ shed: victims.length }, 'shedding load');
  }

  /** Positions moved: announce them once ANNOUNCE_INTERVAL_MS has passed since the last time. */
  private announceSoon(): void {
    if (this.announceTimer) return;
    const delayMs = Math.max(0, this.announcedAt + ANNOUNCE_INTERVAL_MS - Date.now());
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined;
      this.announcedAt = Date.now();
      this.announcePositions();
    }, delayMs);
    this.announceTimer.unref();
  }

  /** Tell each waiter whose place in line changed since it was last told where it stands now. */
  private announcePositions(): void {
    for (const [id, position] of this.queue.positions()) this.tell(id, position);
  }

  /** Send `connectionId` its place in line, unless it is not waiting or was already told it. */
  private tell(connectionId: string, position: number): void {
    if (!this.waiters.has(connectionId) || this.announced.get(connectionId) === position) return;
    this.announced.set(connectionId, position);
    this.ctx.connections
      .get(connectionId)
      ?.send({ type: 'queued', position, estimatedWaitMs: this.queue.estimatedWaitMs(position) });
  }

  private refuse(conn: Connection, code: ErrorCode): void {
    conn.close(code, { retryAfterMs: jitteredRetryAfter(code) });
  }
}

/** A tier's admission priority (1 = first); a tier not in `priorities` ranks after all listed ones. */
export function tierPriority(priorities: Record<string, number>, tier: string): number {
  return priorities[tier] ?? Math.max(0, ...Object.values(priorities)) + 1;
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
