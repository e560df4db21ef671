/**
 * Which errors from ioredis mean "the store could not serve this now" — the connection
 * lost or not yet back, a cluster node down, failing over or moving slots, a server still
 * loading, out of memory or refusing writes — as opposed to a fault in what was asked. A
 * request that met one is refused with the retryable STORE_UNAVAILABLE, not INTERNAL: with
 * one cluster master down the store as a whole still reads ready, so readiness alone cannot tell.
 */

/**
 * Redis's error replies that refuse a command without running it: the server or cluster
 * cannot serve it now. OOM (maxmemory reached with nothing it may evict) and MISCONF (writes
 * stopped after a failed save) refuse a script at its first write only, never once it has
 * written (Redis's scriptVerifyOOM, scriptVerifyWriteCommandAllow): nothing of it ran either.
 */
const REFUSED_UNRUN = [
  'CLUSTERDOWN',
  'TRYAGAIN',
  'LOADING',
  'MASTERDOWN',
  'READONLY',
  'NOREPLICAS',
  'MOVED',
  'ASK',
  'OOM',
  'MISCONF',
];
const replyIn = (codes: readonly string[]) => new RegExp(`^(${codes.join('|')})\\b`);
/** Redis's own error replies that say the server or cluster cannot serve for now. */
const UNAVAILABLE_REPLIES = replyIn([...REFUSED_UNRUN, 'BUSY']);
/** ioredis's errors when a command could not reach a server. */
const UNREACHABLE =
  /Connection is closed|Stream isn't writeable|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Reached the max retries per request limit/;
const UNREACHABLE_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  'UnansweredOnDropError', // src/redis/unanswered-on-drop.ts
]);
/** The socket's own failures (Node system errors). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * Redis's replies that refuse a command without running it, and ioredis giving up after
 * redirections alone: whatever it asked was not done.
 */
const NOT_RUN = replyIn(REFUSED_UNRUN);

export function isRefusedUnrun(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const queued = queueRefusals(error);
  if (queued) return queued.some(isRefusedUnrun);
  return NOT_RUN.test(error.message) || error.message.startsWith('Too many Cluster redirections');
}

/**
 * A MULTI that Redis discarded (EXECABORT: nothing of it ran) for refusals of its queued
 * commands, which ioredis keeps as `previousErrors`: those say why. Undefined for other errors.
 */
function queueRefusals(error: Error): unknown[] | undefined {
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  return error.message.startsWith('EXECABORT') && Array.isArray(previous) ? previous : undefined;
}

export function isStoreUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const queued = queueRefusals(error);
  if (queued) return queued.some(isStoreUnavailableError);
  const code = (error as { code?: unknown }).code;
  return (
    UNREACHABLE_NAMES.has(error.name) ||
    (typeof code === 'string' && SOCKET_CODES.has(code)) ||
    UNAVAILABLE_REPLIES.test(error.message) ||
    UNREACHABLE.test(error.message)
  );
}
