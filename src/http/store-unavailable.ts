/**
 * The one answer of every HTTP route when Redis does not answer: 503 STORE_UNAVAILABLE,
 * a message saying which of the two it was, and when to retry (`retryAfterMs`, header
 * `retry-after`), as src/shared/errors.ts has it. Found not answering before the request
 * was started, nothing was done. Stalled while the request waited on it (StoreHealth
 * fails every command then waiting), what it asked may still happen when Redis answers
 * again — an append may land, a block may apply — and the message says so, because a
 * blind retry could then do it twice.
 */
import { type StoreReadiness, StoreStalledError } from '../core/ports/store-readiness.ts';
import { errorSpec } from '../shared/errors.ts';

const retryAfterMs = errorSpec('STORE_UNAVAILABLE').retryAfterMs ?? 1000;

export const NOT_ANSWERING = 'Redis is not answering: nothing was done';

const STALLED =
  'Redis stopped answering while the request waited on it: what it asked may still take effect when Redis answers again';

const UNSERVED =
  'Redis could not serve a command of the request (a cluster node down or failing over, a slot moving, the connection lost, Redis out of memory): what it asked may have been done in part';

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
function stalledAnswer(error: unknown): StoreUnavailable | undefined {
  return error instanceof StoreStalledError ? storeUnavailable(STALLED) : undefined;
}

/**
 * The answer for a request that failed with `error`, if the store not serving was why: stalled
 * under it, or any error `readiness` counts as the store's (a TRYAGAIN while a slot migrates, a
 * master failing over, a lost connection, an OOM under maxmemory) — not a fault of ours to answer 500.
 */
export function unavailableAnswer(error: unknown, readiness: StoreReadiness): StoreUnavailable | undefined {
  return stalledAnswer(error) ?? (readiness.isUnavailable(error) ? storeUnavailable(UNSERVED) : undefined);
}
