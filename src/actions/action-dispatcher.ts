/**
 * Client `action` frames become prioritized BullMQ jobs for backend workers.
 * Priority = action class (ACTION_PRIORITIES) × 10 + the token tier's priority, so
 * urgent actions go first and, within a class, better tiers. Over the high-water
 * mark, low-priority classes are refused with a retryable ACTION_OVERLOADED while
 * urgent ones still go through. Replies come back on the session's inbox channel
 * (see action-worker.ts), so they reach the client wherever it has resumed.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { channelAllowed } from '../auth/principal.ts';
import type { Config } from '../config/config.ts';
import type { Connection } from '../gateway/connection.ts';
import { subscribeInbox } from '../gateway/subscriptions.ts';
import type { Logger } from '../observability/logger.ts';
import { bullTelemetry, injectContext } from '../observability/trace-context.ts';
import type { ActionFrame } from '../shared/frames.ts';
import { ACTIONS_QUEUE, type ActionJob, bullPrefix } from './action-job.ts';

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

export class ActionDispatcher {
  private readonly queue: Queue<ActionJob>;
  /** Jobs waiting in the queue: sampled, plus those added since. */
  private waiting = 0;
  /** Accepted actions whose job is still being added: they count against the mark too. */
  private adding = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    connection: Redis,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly tierPriority: (tier: string) => number,
  ) {
    // telemetry: the job's add span, and its trace context in the job for the worker (bullmq-otel).
    this.queue = new Queue<ActionJob>(ACTIONS_QUEUE, {
      connection,
      prefix: bullPrefix(config.redisPrefix),
      telemetry: bullTelemetry(),
    });
    this.queue.on('error', (error) => logger.warn({ err: error }, 'action queue error'));
  }

  /** Sample the queue depth off the hot path: one Redis call per interval, not per action. */
  start(): void {
    const sample = () =>
      this.queue
        .getJobCounts('waiting', 'prioritized')
        .then((counts) => {
          this.waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
        })
        .catch(() => {});
    void sample();
    this.timer = setInterval(sample, DEPTH_SAMPLE_MS);
    this.timer.unref();
  }

  depth(): number {
    return this.waiting + this.adding;
  }

  classOf(name: string): number {
    const { priorities } = this.config.actions;
    return priorities[name] ?? priorities.default ?? 5;
  }

  async submit(conn: Connection, frame: ActionFrame): Promise<void> {
    const { ref, name } = frame;
    const principal = conn.principal;
    if (!principal || !conn.sessionId || !channelAllowed(principal.actions, name)) {
      conn.fail('ACTION_FORBIDDEN', { ref, detail: name });
      return;
    }
    const actionClass = this.classOf(name);
    // Checked and counted in the same tick: a burst must not all pass before any add lands.
    if (this.depth() >= this.config.actions.highWater && actionClass >= this.config.actions.lowPriorityFrom) {
      conn.fail('ACTION_OVERLOADED', { ref, detail: `${this.depth()} actions waiting` });
      return;
    }
    this.adding++;
    try {
      // Listen on the inbox before the job exists, so the reply cannot slip past.
      if (!(await subscribeInbox(conn))) return;
      await this.queue.add(
        name,
        {
          ref,
          sessionId: conn.sessionId,
          userId: principal.userId,
          tier: principal.tier,
          correlationId: conn.correlationId,
          data: frame.data ?? null,
          enqueuedAt: Date.now(),
          trace: traceCarrier(),
        },
        {
          priority: actionPriority(actionClass, this.tierPriority(principal.tier)),
          removeOnComplete: 1000,
          removeOnFail: 1000,
        },
      );
      this.waiting++;
    } catch (error) {
      this.logger.warn({ err: error, action: name }, 'action: enqueue failed');
      conn.fail('STORE_UNAVAILABLE', { ref });
    } finally {
      this.adding--;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.queue.close().catch(() => {});
  }
}

/** The active trace for workers that do not use bullmq-otel (undefined while tracing is off). */
function traceCarrier(): Record<string, string> | undefined {
  const carrier = injectContext<Record<string, string>>({});
  return carrier.traceparent ? carrier : undefined;
}
