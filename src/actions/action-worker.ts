/**
 * The backend side of actions, as a small library: run handlers for action jobs
 * and write each outcome to the session's inbox channel (a Redis Stream like any
 * channel), from where whichever gateway process holds the client delivers it —
 * also after the client resumed on another process.
 *
 * @example
 * const worker = startActionWorker({
 *   redisUrl: 'redis://127.0.0.1:6379',
 *   handlers: { 'orders.create': async (data, ctx) => ({ orderId: 42, by: ctx.userId }) },
 * });
 * process.on('SIGTERM', () => worker.close());
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { type Job, Worker } from 'bullmq';
import { EventLog } from '../channels/event-log.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { OutageLog } from '../observability/outage-log.ts';
import { ATTR_ERROR_TYPE } from '../observability/span-attributes.ts';
import { bullTelemetry, sampledTraceparent } from '../observability/trace-context.ts';
import { redisKeys } from '../redis/keys.ts';
import {
  createRedisClient,
  defaultActionShards,
  defaultPubSub,
  type PubSubMode,
  parseRedisUrl,
} from '../redis/redis-target.ts';
import { ACTIONS_QUEUE, type ActionJob, type ActionReply, actionShardPrefixes } from './action-job.ts';
import { appendReply, codedError, DEFAULT_INBOX_TTL_MS } from './action-reply.ts';

export interface ActionContext {
  name: string;
  userId: string;
  sessionId: string;
  tier: string;
  correlationId: string;
}

export type ActionHandler = (data: unknown, context: ActionContext) => unknown | Promise<unknown>;

export interface ActionWorkerOptions {
  /** The gateway's REDIS_URL (one server, `redis+cluster://` or `redis+sentinel://`: src/redis/redis-target.ts). */
  redisUrl: string;
  /** Must match the gateway's REDIS_PUBSUB. @defaultValue sharded on a cluster, else classic */
  pubsub?: PubSubMode;
  /** Must match the gateway's REDIS_PREFIX. @defaultValue 'tether' */
  prefix?: string;
  /**
   * Action-queue shards to take jobs from: at least the gateway's ACTION_QUEUE_SHARDS
   * (more is harmless, fewer leaves jobs untaken). @defaultValue 8 on a cluster, else 1
   */
  queueShards?: number;
  handlers: Record<string, ActionHandler>;
  /** Jobs handled at once, spread over the shards (at least one per shard). @defaultValue 16 */
  concurrency?: number;
  /** How long an inbox keeps replies after the last one, ms; cover the resume window. @defaultValue 240000 */
  inboxTtlMs?: number;
  /**
   * Where Redis outages and the workers' errors are logged: a line when Redis is lost, one
   * when it is back, and each worker's errors at most every 30 s (src/observability/outage-log.ts).
   * @defaultValue a pino logger at `info` writing JSON lines to stdout
   */
  logger?: Logger;
}

export interface ActionWorker {
  /** One BullMQ worker per action-queue shard. */
  workers: Worker<ActionJob>[];
  close(): Promise<void>;
}

const INBOX_RETENTION = 1000;

export function startActionWorker(options: ActionWorkerOptions): ActionWorker {
  const prefix = options.prefix ?? 'tether';
  const target = parseRedisUrl(options.redisUrl);
  const redis = createRedisClient(target, { maxRetriesPerRequest: null });
  const inboxTtlMs = options.inboxTtlMs ?? DEFAULT_INBOX_TTL_MS;
  // The same append as every channel's: stored, then announced to the gateways reading it.
  const inboxes = new EventLog(redis, redisKeys(prefix), INBOX_RETENTION, {
    pubsub: options.pubsub ?? defaultPubSub(target),
  });

  // Runs inside the job's process span: its traceparent lets the gateway's delivery join the trace.
  const reply = (job: Job<ActionJob>, outcome: Omit<ActionReply, 'ref'>) =>
    appendReply(inboxes, job, outcome, { ttlMs: inboxTtlMs, traceparent: sampledTraceparent() });

  const handle = async (job: Job<ActionJob>) => {
    // An own property only: an action named `constructor` or `toString` has no handler.
    const handler = Object.hasOwn(options.handlers, job.name) ? options.handlers[job.name] : undefined;
    const context: ActionContext = {
      name: job.name,
      userId: job.data.userId,
      sessionId: job.data.sessionId,
      tier: job.data.tier,
      correlationId: job.data.correlationId,
    };
    if (!handler) {
      markFailed('UNKNOWN_ACTION');
      await reply(job, { ok: false, error: codedError('UNKNOWN_ACTION', job.name) });
      return;
    }
    try {
      await reply(job, { ok: true, data: (await handler(job.data.data, context)) ?? null });
    } catch (error) {
      markFailed('ACTION_FAILED', error);
      await reply(job, { ok: false, error: codedError('ACTION_FAILED', (error as Error).message) });
    }
  };
  const shards = options.queueShards ?? defaultActionShards(target);
  const concurrency = Math.max(1, Math.ceil((options.concurrency ?? 16) / shards));
  // An ioredis client or BullMQ worker with no `error` listener prints each failed
  // reconnect's stack: ~5 a second while Redis is away. The gateway's outage log says it once.
  const logger = options.logger ?? createLogger('info', 'action-worker');
  const outage = new OutageLog(logger, 'redis');
  // ioredis emits `error` for its connection only (a command's error rejects the command), and
  // reconnects next, so `ready` ends what this begins: logged at debug, as the gateway does.
  redis.on('error', (err) => {
    logger.debug({ err }, 'redis connection error');
    outage.lost();
  });
  outage.follow(redis);
  const workers = actionShardPrefixes(prefix, shards).map((shardPrefix) => {
    const worker = new Worker<ActionJob>(ACTIONS_QUEUE, handle, {
      connection: redis,
      prefix: shardPrefix,
      concurrency,
      telemetry: bullTelemetry(),
    });
    // A job BullMQ fails itself, not through `handle` — one that stalled more than
    // maxStalledCount times (its worker kept dying while running it), or whose reply could not
    // be written — is answered here, or its client would never hear of it. The reply's
    // idempotency key keeps one that was answered already at one reply.
    worker.on('failed', (job, error) => {
      if (!job) return;
      reply(job, { ok: false, error: codedError('ACTION_FAILED', error.message) }).catch((err) =>
        logger.warn({ err, jobId: job.id, action: job.name }, 'action: a failed job could not be answered'),
      );
    });
    worker.on('error', (error) => {
      // The worker's own (blocking) connection can see Redis go before this client does.
      if (redis.status !== 'ready') outage.lost();
      outage.error('action worker', error, { prefix: shardPrefix });
    });
    return worker;
  });
  return {
    workers,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * A failed action is answered (`ok: false`), so BullMQ sees its job done and leaves its
 * `process` span unmarked: the failure is marked on that span (the active one, where it
 * happened; `ws.action` ended when the job was added).
 */
function markFailed(code: 'UNKNOWN_ACTION' | 'ACTION_FAILED', error?: unknown): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (error instanceof Error) span.recordException(error);
  span.setAttribute(ATTR_ERROR_TYPE, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}
