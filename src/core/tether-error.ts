/**
 * The one error class the gateway throws for conditions a client should hear
 * about; its `code` keys into the shared registry (src/shared/errors.ts).
 */
import { type ErrorCode, type ErrorSpec, errorSpec } from '../shared/errors.ts';
import type { ErrorFrame } from '../shared/frames.ts';

export class TetherError extends Error {
  override name = 'TetherError';
  readonly code: ErrorCode;
  readonly spec: ErrorSpec;
  readonly detail?: string;
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, options: { cause?: unknown; detail?: string; retryAfterMs?: number } = {}) {
    const spec = errorSpec(code);
    super(options.detail ? `${spec.message} (${options.detail})` : spec.message, { cause: options.cause });
    this.code = code;
    this.spec = spec;
    this.detail = options.detail;
    this.retryAfterMs = options.retryAfterMs ?? spec.retryAfterMs;
  }
}

/** The error frame for `code`; every error frame carries the correlation ID. */
export function errorFrame(
  code: ErrorCode,
  correlationId: string,
  extra: { ref?: string; detail?: string; retryAfterMs?: number } = {},
): ErrorFrame {
  const spec = errorSpec(code);
  const frame: ErrorFrame = {
    type: 'error',
    code,
    category: spec.category,
    message: spec.message,
    recovery: spec.recovery,
    retryable: spec.retryable,
    correlationId,
  };
  const retryAfterMs = extra.retryAfterMs ?? spec.retryAfterMs;
  if (retryAfterMs !== undefined) frame.retryAfterMs = retryAfterMs;
  if (extra.ref !== undefined) frame.ref = extra.ref;
  if (extra.detail !== undefined) frame.detail = extra.detail;
  return frame;
}
