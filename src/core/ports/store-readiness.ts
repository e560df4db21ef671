/** Whether the store answers right now: the one source of it (src/redis/store-health.ts). */
export interface StoreReadiness {
  /** Connected and answering its health checks in time. */
  isReady(): boolean;
}
