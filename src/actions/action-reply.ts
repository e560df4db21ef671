/**
 * How an action's outcome is written, by a worker (action-worker.ts) or by a gateway that
 * withdrew a job no worker took (action-deadlines.ts): one event on the session's inbox, under
 * an idempotency key named after the job, so a job is answered once whoever answers first.
 */
import type { EventStore } from '../core/ports/event-store.ts';
import { type ErrorCode, errorSpec } from '../shared/errors.ts';
import { inboxChannel } from '../shared/frames.ts';
import type { ActionJob, ActionReply } from './action-job.ts';

/** How long an inbox keeps replies after the last one, unless the worker is told otherwise: covers the resume window. */
export const DEFAULT_INBOX_TTL_MS = 240_000;

/** The job an outcome answers: its queue's qualified name and ID name it across shards. */
export interface AnsweredJob {
  queueQualifiedName: string;
  id?: string;
  data: Pick<ActionJob, 'ref' | 'sessionId' | 'correlationId'>;
}

export async function appendReply(
  inboxes: Pick<EventStore, 'append'>,
  job: AnsweredJob,
  outcome: Omit<ActionReply, 'ref'>,
  options: { ttlMs: number; traceparent?: string },
): Promise<{ duplicate: boolean }> {
  const body: ActionReply = { ref: job.data.ref, ...outcome };
  return inboxes.append(inboxChannel(job.data.sessionId), JSON.stringify(body), job.data.correlationId, {
    traceparent: options.traceparent,
    ttlMs: options.ttlMs,
    // BullMQ runs a job again when its worker died before marking it done (stalled), or
    // on a retry: the first run's reply is the one, and a second would be a second event.
    // Job IDs repeat across shards' queues, so the queue names it too.
    idempotency: { key: `reply:${job.queueQualifiedName}:${job.id}`, windowMs: options.ttlMs },
  });
}

/** A failed outcome's `error`, from the registry. */
export function codedError(code: ErrorCode, detail: string): ActionReply['error'] {
  const spec = errorSpec(code);
  const { message, retryable, retryAfterMs } = spec;
  return { code, message, detail, retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
