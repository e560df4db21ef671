/** Whether the store answers right now: the one source of it (src/redis/store-health.ts). */
export interface StoreReadiness {
  /** Connected and answering its health checks in time. */
  isReady(): boolean;
  /**
   * `work`'s outcome, or a StoreStalledError as soon as the store is found not answering
   * while it waits. For a handshake, which waits on several stores in turn, and an action,
   * whose job goes through BullMQ's own connection; a request's commands on the gateway's
   * connections are failed where they wait (StoreHealth), at no cost per request.
   */
  whileAnswering<T>(work: Promise<T>): Promise<T>;
  /**
   * Whether `error` (from a store command) says the store could not serve for now — a lost
   * connection, a cluster node down or failing over — rather than a fault in the request.
   */
  isUnavailable(error: unknown): boolean;
}

/**
 * The store stopped answering while a request waited on it (StoreHealth fails every
 * command then waiting): what the request asked may still happen when it answers again
 * (an append may land in the log).
 */
export class StoreStalledError extends Error {
  override name = 'StoreStalledError';
}
