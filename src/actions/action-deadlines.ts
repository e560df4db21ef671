/**
 * An action no worker has taken within ACTION_QUEUE_TIMEOUT_MS is withdrawn from its queue and
 * answered ACTION_TIMEOUT on the session's inbox: with no worker running (or all of them far
 * behind) the client learns its action was not run, instead of waiting on it for good.
 *
 * Deadlines live in Redis — a sorted set per shard beside the shard's queue (same hash tag),
 * scored by deadline — so every gateway process sweeps them, also those a dead process queued.
 * Only a job still waiting is withdrawn: BullMQ refuses to remove one a worker holds, and the
 * answer shares the worker's idempotency key (action-reply.ts), so a job that a worker ran
 * and answered in between keeps the worker's reply. A job found already gone is answered only
 * when a sweep marked it withdrawn: one that ran and was then dropped (removeOnComplete) keeps
 * its worker's reply, also once that reply's key has lapsed. Either way each action gets one reply.
 */
import type { Queue } from 'bullmq';
import type { EventStore } from '../core/ports/event-store.ts';
import type { Logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import type { ActionJob } from './action-job.ts';
import { appendReply, codedError, DEFAULT_INBOX_TTL_MS } from './action-reply.ts';

const SWEEP_MS = 1000;
/** Deadlines read per shard at a time: a sweep goes on batch after batch for up to its budget. */
const SWEEP_BATCH = 200;
/** A job in one of these states has not been taken by a worker. */
const UNTAKEN = new Set(['waiting', 'prioritized', 'delayed']);

export class ActionDeadlines {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    /** The queues' own connection (every shard's keys are reachable through it, also on a cluster). */
    private readonly redis: RedisConnection,
    private readonly queues: readonly Queue<ActionJob>[],
    private readonly timeoutMs: number,
    private readonly inboxes: Pick<EventStore, 'append'>,
    private readonly logger: Logger,
    /** How long one sweep may go on, batch after batch, before the next tick takes over. */
    private readonly sweepBudgetMs = SWEEP_MS,
  ) {}

  get enabled(): boolean {
    return this.timeoutMs > 0;
  }

  /**
   * Note a job just queued; a failure only costs the deadline (the action stays queued). The
   * entry carries what the answer needs, so a job removed by a sweep that then failed to answer
   * is still answered by the next one.
   */
  async track(queue: Queue<ActionJob>, jobId: string, job: ActionJob): Promise<void> {
    if (!this.enabled) return;
    const entry: DeadlineEntry = {
      id: jobId,
      ref: job.ref,
      sessionId: job.sessionId,
      correlationId: job.correlationId,
    };
    try {
      await this.redis.zadd(deadlinesKey(queue), Date.now() + this.timeoutMs, memberOf(entry));
    } catch (error) {
      this.logger.warn({ err: error, jobId }, 'action: its queue deadline was not stored');
    }
  }

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Withdraw and answer every job past its deadline that no worker took. Resolves with how many. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.sweeping) return 0; // a slow Redis: the next tick goes on
    this.sweeping = true;
    try {
      let withdrawn = 0;
      for (const queue of this.queues) withdrawn += await this.sweepShard(queue, now);
      // One line per sweep, not per action: with no worker running every action comes here.
      metrics.actionsWithdrawn.inc(withdrawn);
      if (withdrawn > 0)
        this.logger.warn(
          { withdrawn, timeoutMs: this.timeoutMs },
          'actions withdrawn unrun and answered ACTION_TIMEOUT: no worker took them in time',
        );
      return withdrawn;
    } catch (error) {
      this.logger.debug({ err: error }, 'action deadlines: sweep failed (next one retries)');
      return 0;
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Batch after batch while any is due, for up to a sweep interval: at one batch a second, a
   * backlog of thousands would be answered long after the SDK's own actionTimeoutMs gave up.
   */
  private async sweepShard(queue: Queue<ActionJob>, now: number): Promise<number> {
    const started = Date.now();
    let withdrawn = 0;
    for (;;) {
      const { due, answered } = await this.sweepBatch(queue, now);
      withdrawn += answered;
      if (due < SWEEP_BATCH || Date.now() - started >= this.sweepBudgetMs) return withdrawn;
    }
  }

  private async sweepBatch(queue: Queue<ActionJob>, now: number): Promise<{ due: number; answered: number }> {
    const key = deadlinesKey(queue);
    // Members of one deadline come in their text order, which memberOf makes the job order.
    const due = await this.redis.zrangebyscore(key, '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
    let answered = 0;
    for (const member of due) {
      const entry = parseEntry(member);
      if (entry && (await this.settle(queue, entry))) answered++;
      await this.redis.zrem(key, member);
    }
    return { due: due.length, answered };
  }

  /** Withdraw and answer the job if no worker took it; whether this answered it. */
  private async settle(queue: Queue<ActionJob>, entry: DeadlineEntry): Promise<boolean> {
    const withdrawn = withdrawnKey(queue, entry.id);
    const job = await queue.getJob(entry.id);
    if (job) {
      if (!UNTAKEN.has(await job.getState())) return false; // a worker has it: it answers
      // Marked before it goes, so a sweep that fails between the two still knows it was withdrawn.
      await this.redis.set(withdrawn, '1', 'PX', DEFAULT_INBOX_TTL_MS);
      if ((await queue.remove(entry.id)) !== 1) {
        await this.redis.del(withdrawn);
        return false; // taken since
      }
    } else if (!(await this.redis.exists(withdrawn))) {
      // Gone, and no sweep withdrew it: run and answered, then dropped by removeOnComplete /
      // removeOnFail. Its worker's reply key may have lapsed by now (the worker's inboxTtlMs,
      // shorter than this deadline), so an answer here would be a second, false one.
      return false;
    }
    // Withdrawn here, or by a sweep that failed before answering (the answer's key keeps two
    // sweeps answering the same job at one reply).
    const detail = `no worker took it within ${this.timeoutMs} ms; it was withdrawn and did not run`;
    const answered = await appendReply(
      this.inboxes,
      { queueQualifiedName: queue.qualifiedName, id: entry.id, data: entry },
      { ok: false, error: codedError('ACTION_TIMEOUT', detail) },
      { ttlMs: DEFAULT_INBOX_TTL_MS },
    );
    await this.redis.del(withdrawn);
    return !answered.duplicate;
  }
}

/** What answering a withdrawn job takes, kept with its deadline. */
export type DeadlineEntry = Pick<ActionJob, 'ref' | 'sessionId' | 'correlationId'> & { id: string };

/**
 * The sorted set's member: the job ID zero-padded, then the entry. Deadlines in one millisecond
 * are read in member order, so a session's answers keep the order of its actions also across
 * batches (BullMQ numbers a queue's jobs upwards; `"1000"` sorts before `"999"` unpadded).
 */
export function memberOf(entry: DeadlineEntry): string {
  return `${entry.id.padStart(20, '0')} ${JSON.stringify(entry)}`;
}

function parseEntry(member: string): DeadlineEntry | undefined {
  try {
    const entry = JSON.parse(member.slice(member.indexOf(' ') + 1)) as DeadlineEntry;
    return typeof entry.id === 'string' && typeof entry.sessionId === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Beside the shard's BullMQ keys, under its hash tag, so one cluster slot holds both. */
const deadlinesKey = (queue: Queue<ActionJob>) => queue.toKey('tether-deadlines');
/**
 * Set while a sweep withdraws job `id` and until it answered: a job found gone is answered only
 * with this mark (a job gone without it ran, and its worker answered it).
 */
const withdrawnKey = (queue: Queue<ActionJob>, id: string) => queue.toKey(`tether-withdrawn:${id}`);
