/**
 * The core's ActionSink: client actions become prioritized BullMQ jobs for backend workers.
 * Priority = action class (ACTION_PRIORITIES) × 10 + the token tier's priority, so
 * urgent actions go first and, within a class, better tiers. Over the high-water
 * mark, low-priority classes are refused with a retryable ACTION_OVERLOADED while
 * urgent ones still go through. Replies come back on the session's inbox channel
 * (see action-worker.ts), so they reach the client wherever it has resumed.
 * A job goes to its session's shard of the queue (action-job.ts); one no worker takes in
 * time is withdrawn and answered (action-deadlines.ts).
 */
import { Queue } from 'bullmq';
import type { Config } from '../config/config.ts';
import type { ActionRequest, ActionSink } from '../core/ports/action-sink.ts';
import type { EventStore } from '../core/ports/event-store.ts';
import { TetherError } from '../core/tether-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { OutageLog } from '../observability/outage-log.ts';
import { bullTelemetry } from '../observability/trace-context.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import { ActionDeadlines } from './action-deadlines.ts';
import { ACTIONS_QUEUE, type ActionJob, actionShardOf, actionShardPrefixes } from './action-job.ts';

const DEPTH_SAMPLE_MS = 250;
/** Tier priorities are 1–9, and 10 for a tier TIER_PRIORITIES does not list: one decade per class. */
const TIER_SPAN = 10;

/**
 * The BullMQ priority of an action (lower first): every job of an urgent class goes before
 * any of the next class, better tiers first within a class. Holds because the config schema
 * keeps classes (ACTION_PRIORITIES) and tier priorities (TIER_PRIORITIES) within 1–9.
 */
export function actionPriority(actionClass: number, tierPriority: number): number {
  return actionClass * TIER_SPAN + tierPriority;
}

export class ActionDispatcher implements ActionSink {
  /** One queue per shard, shard 0 first. */
  private readonly queues: Queue<ActionJob>[];
  /** Jobs waiting in all shards: sampled, plus those added since. */
  private waiting = 0;
  /** Accepted actions whose job is still being added: they count against the mark too. */
  private adding = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly deadlines: ActionDeadlines;

  constructor(
    connection: RedisConnection,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Where BullMQ's errors go (one line per outage, not one per reconnect attempt). */
    redisErrors: OutageLog,
    private readonly tierPriority: (tier: string) => number,
    /** ACTION_QUEUE_SHARDS, resolved for the topology. */
    shards: number,
    /** Where a withdrawn action's answer is written (the sessions' inboxes). */
    inboxes: Pick<EventStore, 'append'>,
  ) {
    // telemetry: the job's add span, and its trace context in the job for the worker (bullmq-otel).
    this.queues = actionShardPrefixes(config.redisPrefix, shards).map((prefix) => {
      const queue = new Queue<ActionJob>(ACTIONS_QUEUE, { connection, prefix, telemetry: bullTelemetry() });
      queue.on('error', (error) => redisErrors.error('action queue', error, { prefix }));
      return queue;
    });
    this.deadlines = new ActionDeadlines(
      connection,
      this.queues,
      config.actions.queueTimeoutMs,
      inboxes,
      logger,
    );
  }

  /** Sample the queue depth off the hot path: one Redis call per shard per interval, not per action. */
  start(): void {
    const waitingIn = async (queue: Queue<ActionJob>) => {
      const counts = await queue.getJobCounts('waiting', 'prioritized');
      return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    };
    const sample = () =>
      Promise.all(this.queues.map(waitingIn))
        .then((counts) => {
          this.waiting = counts.reduce((sum, n) => sum + n, 0);
        })
        .catch(() => {});
    void sample();
    this.timer = setInterval(sample, DEPTH_SAMPLE_MS);
    this.timer.unref();
    this.deadlines.start();
  }

  depth(): number {
    return this.waiting + this.adding;
  }

  classOf(name: string): number {
    const { priorities } = this.config.actions;
    return (Object.hasOwn(priorities, name) ? priorities[name] : undefined) ?? priorities.default ?? 5;
  }

  async submit(request: ActionRequest, listen: () => Promise<boolean>): Promise<void> {
    const actionClass = this.classOf(request.name);
    // Checked and counted in the same tick: a burst must not all pass before any add lands.
    if (this.depth() >= this.config.actions.highWater && actionClass >= this.config.actions.lowPriorityFrom)
      throw new TetherError('ACTION_OVERLOADED', { detail: `${this.depth()} actions waiting` });
    this.adding++;
    try {
      // The reply would have nowhere to land: say so rather than run an action nobody hears of.
      if (!(await listen()))
        throw new TetherError('STORE_UNAVAILABLE', { detail: 'the reply inbox is not delivered' });
      const { name, ...fields } = request;
      const queue = this.queues[actionShardOf(request.sessionId, this.queues.length)] as Queue<ActionJob>;
      const data: ActionJob = { ...fields, enqueuedAt: Date.now() };
      const job = await queue.add(name, data, {
        priority: actionPriority(actionClass, this.tierPriority(request.tier)),
        removeOnComplete: 1000,
        removeOnFail: 1000,
      });
      this.waiting++;
      if (job.id) void this.deadlines.track(queue, job.id, data); // never holds the answer up
    } catch (error) {
      if (error instanceof TetherError) throw error;
      this.logger.warn({ err: error, action: request.name }, 'action: enqueue failed');
      throw new TetherError('STORE_UNAVAILABLE', { cause: error });
    } finally {
      this.adding--;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.deadlines.stop();
    await Promise.all(this.queues.map((queue) => queue.close().catch(() => {})));
  }
}
