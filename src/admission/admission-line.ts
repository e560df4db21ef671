/**
 * The admission line behind the pool (the core's AdmissionLine port): the pool
 * decides who waits (machines/pool.machine.ts); this keeps them in the BullMQ
 * priority queue, tells each where it stands (`queued` frames, re-announced at most
 * every ANNOUNCE_INTERVAL_MS so a storm of joins is not N² frames), moves them into
 * slots as the pool frees them, and picks who is shed when the pool is critical:
 * welcomed connections only, lowest priority first, newest first within it.
 */
import type { Connection } from '../core/connection.ts';
import type { AdmissionLine } from '../core/ports/admission-line.ts';
import type { Logger } from '../observability/logger.ts';
import { jitteredRetryAfter } from '../shared/errors.ts';
import type { AdmissionQueue } from './admission-queue.ts';

/** Positions are re-announced at most this often. */
const ANNOUNCE_INTERVAL_MS = 250;

export interface AdmissionLineDeps {
  queue: AdmissionQueue;
  /** The open socket of a connection, if it still has one. */
  connectionOf(connectionId: string): Connection | undefined;
  /** Every open socket, for shedding. */
  connections(): Iterable<Connection>;
  /** Slots the pool has free right now. */
  freeSlots(): number;
  /** Share of welcomed connections one shedding step closes. */
  shedBatchRatio: number;
  logger: Logger;
}

export class BullAdmissionLine implements AdmissionLine {
  private announceTimer: NodeJS.Timeout | undefined;
  private announcedAt = 0;

  constructor(private readonly deps: AdmissionLineDeps) {}

  enqueue(connectionId: string, priority: number): void {
    const { queue, logger } = this.deps;
    queue
      .enqueue(connectionId, priority, this.deps.connectionOf(connectionId)?.correlationId)
      .then(() => {
        // The newcomer hears where it stands at once; those it moved behind it, soon.
        const position = queue.positionOf(connectionId);
        if (position !== undefined) this.tell(connectionId, position);
        this.announceSoon();
        this.fill();
      })
      .catch((error) => {
        logger.warn({ err: error }, 'admission: enqueue failed');
        this.deps.connectionOf(connectionId)?.close('STORE_UNAVAILABLE');
      });
  }

  leave(connectionId: string): void {
    if (this.deps.queue.leave(connectionId)) this.announceSoon(); // everyone behind it moved up
  }

  fill(): void {
    void this.deps.queue.fill(this.deps.freeSlots).then((admitted) => {
      if (admitted > 0) this.announceSoon();
    });
  }

  depth(): number {
    return this.deps.queue.depth();
  }

  /** Close the lowest-priority connections first; their sessions stay resumable. */
  shed(): void {
    const victims = shedVictims(this.deps.connections(), this.deps.shedBatchRatio);
    for (const conn of victims) conn.close('LOAD_SHED', { retryAfterMs: jitteredRetryAfter('LOAD_SHED') });
    // Nobody to shed is not news: the pressure itself is logged with each critical sample.
    if (victims.length > 0) this.deps.logger.warn({ shed: victims.length }, 'shedding load');
  }

  /** Positions moved: announce them once ANNOUNCE_INTERVAL_MS has passed since the last time. */
  private announceSoon(): void {
    if (this.announceTimer) return;
    const delayMs = Math.max(0, this.announcedAt + ANNOUNCE_INTERVAL_MS - Date.now());
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined;
      this.announcedAt = Date.now();
      for (const [id, position] of this.deps.queue.positions()) this.tell(id, position);
    }, delayMs);
    this.announceTimer.unref();
  }

  /** Send `connectionId` its place in line, unless it was already told that one. */
  private tell(connectionId: string, position: number): void {
    const { queue } = this.deps;
    if (!queue.markAnnounced(connectionId, position)) return;
    this.deps
      .connectionOf(connectionId)
      ?.send({ type: 'queued', position, estimatedWaitMs: queue.estimatedWaitMs(position) });
  }
}

interface Sheddable {
  readonly welcomed: boolean;
  readonly openedAt: number;
  readonly priority: number;
}

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
