/** Whether the store answers right now: the one source of it (src/redis/store-health.ts). */
export interface StoreReadiness {
  /** Connected and answering its health checks in time. */
  isReady(): boolean;
  /**
   * `work`'s outcome, or a StoreStalledError as soon as the store is found not answering
   * while it waits: a frozen Redis keeps its connection open and its commands unanswered
   * for as long as it is frozen, and a client must hear a coded answer before that.
   */
  whileAnswering<T>(work: Promise<T>): Promise<T>;
}

/**
 * The store stopped answering while a request waited on it: what the request asked may
 * still happen when it answers again (an append may land in the log).
 */
export class StoreStalledError extends Error {
  override name = 'StoreStalledError';
}
