/**
 * The one error class the SDK rejects promises with and emits on `error`: a
 * stable `code`, its category, whether trying again can help, and a message and
 * recovery a person can act on. Check with `instanceof` and `code`, never the text.
 */

import { type ClientErrorCode, clientErrorSpec } from './client-errors.ts';
import type { ErrorCategory, ErrorFrame } from './shared.ts';

export interface TetherClientErrorOptions {
  /** Specifics (which field, which channel); appended to the message. */
  detail?: string;
  retryAfterMs?: number;
  /** WebSocket close code, when the error ended a connection. */
  closeCode?: number;
  correlationId?: string;
  /** The request the error answers (publish, action, subscribe). */
  ref?: string;
  cause?: unknown;
}

export class TetherClientError extends Error {
  override name = 'TetherClientError';
  readonly code: ClientErrorCode;
  readonly category: ErrorCategory;
  /** Whether trying again (after `retryAfterMs`, or with backoff) can succeed. */
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /**
   * true when `retryAfterMs` was given — by the gateway's error frame, or by code that built
   * this error with one — so it is a real instruction; false when it is only the registry's
   * typical wait for the code (a bare close code, e.g. 1013 through a proxy), which the SDK
   * jitters so that clients closed together do not return together.
   */
  readonly retryAfterFromServer: boolean;
  /** What to do about it, for a person. */
  readonly recovery: string;
  readonly detail?: string;
  readonly closeCode?: number;
  readonly correlationId?: string;
  readonly ref?: string;

  constructor(
    code: ClientErrorCode,
    options: TetherClientErrorOptions = {},
    overrides: Partial<ErrorFrame> = {},
  ) {
    const spec = clientErrorSpec(code);
    const message = overrides.message ?? spec.message;
    super(options.detail ? `${message} (${options.detail})` : message, { cause: options.cause });
    this.code = code;
    this.category = overrides.category ?? spec.category;
    this.retryable = overrides.retryable ?? spec.retryable;
    this.recovery = overrides.recovery ?? spec.recovery;
    const retryAfterMs = options.retryAfterMs ?? spec.retryAfterMs;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    this.retryAfterFromServer = options.retryAfterMs !== undefined;
    if (options.detail !== undefined) this.detail = options.detail;
    if (options.closeCode !== undefined) this.closeCode = options.closeCode;
    if (options.correlationId !== undefined) this.correlationId = options.correlationId;
    if (options.ref !== undefined) this.ref = options.ref;
  }

  /** The gateway's own words win: it may know more than this SDK version's registry. */
  static fromFrame(frame: ErrorFrame, closeCode?: number): TetherClientError {
    return new TetherClientError(
      frame.code,
      {
        detail: frame.detail,
        retryAfterMs: frame.retryAfterMs,
        correlationId: frame.correlationId,
        ref: frame.ref,
        closeCode,
      },
      frame,
    );
  }

  /** Plain data, for logs and `diagnose()` reports. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      category: this.category,
      message: this.message,
      recovery: this.recovery,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      retryAfterFromServer: this.retryAfterFromServer,
      closeCode: this.closeCode,
      correlationId: this.correlationId,
      ref: this.ref,
    };
  }
}
