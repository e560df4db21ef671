/**
 * The contract between the gateway (producer) and backend workers (consumers).
 * Trace context rides in the job the one way BullMQ carries it: its `telemetry`
 * option (bullmq-otel) puts the W3C context in `job.opts.telemetry.metadata`.
 */

/** The shared BullMQ queue of client actions. */
export const ACTIONS_QUEUE = 'actions';

/** BullMQ's key prefix for a Tether prefix; braces keep a queue on one Cluster slot. */
export const bullPrefix = (redisPrefix: string) => `{${redisPrefix}-bull}`;

export interface ActionJob {
  /** The client's `ref`, echoed on the reply. */
  ref: string;
  sessionId: string;
  userId: string;
  tier: string;
  correlationId: string;
  /** The action's payload from the client frame. */
  data: unknown;
  enqueuedAt: number;
}

export interface ActionReply {
  ref: string;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string; detail?: string; retryable: boolean };
}
