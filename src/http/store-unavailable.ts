/**
 * The one answer of every HTTP route when Redis does not answer: 503 STORE_UNAVAILABLE,
 * a message saying which of the two it was, and when to retry (`retryAfterMs`, header
 * `retry-after`), as src/shared/errors.ts has it. Found not answering before the request
 * was started, nothing was done. Stalled while the request waited on it (StoreHealth
 * fails every command then waiting), what it asked may still happen when Redis answers
 * again — an append may land, a block may apply — and the message says so, because a
 * blind retry could then do it twice.
 */
import { StoreStalledError } from '../core/ports/store-readiness.ts';
import { errorSpec } from '../shared/errors.ts';

const retryAfterMs = errorSpec('STORE_UNAVAILABLE').retryAfterMs ?? 1000;

export const NOT_ANSWERING = 'Redis is not answering: nothing was done';

const STALLED =
  'Redis stopped answering while the request waited on it: what it asked may still take effect when Redis answers again';

export interface StoreUnavailable {
  status: 503;
  body: { error: 'STORE_UNAVAILABLE'; message: string; retryAfterMs: number };
  headers: Record<string, string>;
}

/** `message`: NOT_ANSWERING unless given (a publish says more: src/core/publish.ts). */
export function storeUnavailable(message: string = NOT_ANSWERING): StoreUnavailable {
  return {
    status: 503,
    body: { error: 'STORE_UNAVAILABLE', message, retryAfterMs },
    headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
  };
}

/** The answer for a request that failed with `error`, if Redis stalling under it was why. */
export function stalledAnswer(error: unknown): StoreUnavailable | undefined {
  return error instanceof StoreStalledError ? storeUnavailable(STALLED) : undefined;
}
