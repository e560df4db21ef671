/**
 * The observability side of things a connection does — an error, an admission, a
 * resume, a replay, an action — as one call each from the gateway code, so the
 * metric and the span for the same fact cannot drift apart.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { Connection } from '../gateway/connection.ts';
import { type ErrorCode, errorSpec } from '../shared/errors.ts';
import type { ActionFrame } from '../shared/frames.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_ACTION_NAME,
  ATTR_ACTION_REF,
  ATTR_ADMISSION_PRIORITY,
  ATTR_ADMISSION_RESULT,
  ATTR_ADMISSION_WAIT_MS,
  ATTR_ERROR_CATEGORY,
  ATTR_ERROR_CODE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_RECOVERED,
  ATTR_RESUME_RESULT,
  ATTR_RESUMED,
} from './span-attributes.ts';
import { SpanKind } from './trace-context.ts';

/** A coded error reached the client (error frame or coded close): count it, mark the trace. */
export function observeError(conn: Connection, code: ErrorCode): void {
  const { category } = errorSpec(code);
  metrics.errors.inc({ code, category });
  if (code === 'LOAD_SHED') metrics.shed.inc();
  else if (code === 'MESSAGE_RATE_LIMITED') metrics.rateLimitHits.inc({ limit: 'messages' });
  conn.trace.event('tether.error', { [ATTR_ERROR_CODE]: code, [ATTR_ERROR_CATEGORY]: category });
}

export type AdmissionOutcome = 'granted' | 'admitted' | 'refused' | 'timeout' | 'left';

/**
 * Ask for a slot inside a `ws.admission` span. Whether the pool queued the
 * connection is known synchronously (the actor enters `connecting.queued` during
 * the request), so the wait histogram only sees connections that really waited.
 */
export function traceAdmission(
  conn: Connection,
  priority: number,
  admit: (priority: number) => Promise<boolean>,
): Promise<boolean> {
  return conn.trace.span(
    'ws.admission',
    { attributes: { [ATTR_ADMISSION_PRIORITY]: priority } },
    async (span) => {
      const started = performance.now();
      const pending = admit(priority);
      const queued = conn.actor.getSnapshot().matches({ connecting: 'queued' });
      if (queued) span.addEvent('admission.queued');
      const admitted = await pending;
      const waitedMs = performance.now() - started;
      let outcome: AdmissionOutcome;
      if (admitted) outcome = queued ? 'admitted' : 'granted';
      else if (!queued) outcome = 'refused';
      else outcome = conn.actor.getSnapshot().context.failure === 'ADMISSION_TIMEOUT' ? 'timeout' : 'left';
      span.setAttributes({
        [ATTR_ADMISSION_RESULT]: outcome,
        [ATTR_ADMISSION_WAIT_MS]: Math.round(waitedMs),
      });
      if (outcome === 'refused' || outcome === 'timeout')
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      if (queued) metrics.admissionWait.observe({ outcome }, waitedMs / 1000);
      return admitted;
    },
  );
}

export type ResumeResult = 'resumed' | 'expired' | 'rejected';

/** hello asked to resume: count the result, and describe it on the resume span. */
export function observeResume(
  span: { setAttributes(attributes: Record<string, boolean | string>): unknown },
  result: ResumeResult,
  recovered: boolean,
): void {
  metrics.resumes.inc({ result, recovered: String(recovered) });
  span.setAttributes({
    [ATTR_RESUMED]: result === 'resumed',
    [ATTR_RECOVERED]: recovered,
    [ATTR_RESUME_RESULT]: result,
  });
}

/** A replay (resume or subscribe-with-from) sent `replayed` events from the log. */
export function observeReplay(replayed: number): void {
  if (replayed <= 0) return;
  metrics.replays.inc();
  metrics.replayedEvents.inc(replayed);
}

/**
 * Run the submission of an action frame in a `ws.action` (PRODUCER) span: with
 * BullMQ telemetry on, the job's `add` span, the worker's `process` span and the
 * reply's delivery all join this trace.
 */
export function traceAction(
  conn: Connection,
  frame: ActionFrame,
  submit: () => Promise<void>,
): Promise<void> {
  metrics.actionsSubmitted.inc();
  return conn.trace.span(
    'ws.action',
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR_ACTION_NAME]: frame.name,
        [ATTR_ACTION_REF]: frame.ref,
        [ATTR_MESSAGING_SYSTEM]: 'bullmq',
        [ATTR_MESSAGING_DESTINATION_NAME]: 'actions',
        [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      },
    },
    submit,
  );
}
