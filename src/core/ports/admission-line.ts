/**
 * The waiting line behind the pool (src/admission/): the pool decides who waits,
 * the line keeps them in priority order (BullMQ) and tells them where they stand.
 */
export interface AdmissionLine {
  /** Put a connection the pool queued into the line. */
  enqueue(connectionId: string, priority: number): void;
  /** A waiter left (closed, timed out): drop its place. */
  leave(connectionId: string): void;
  /** Move waiters into the pool's free slots, in priority order. */
  fill(): void;
  /** Close some of the lowest-priority connections (their sessions stay resumable). */
  shed(): void;
  /** Waiters in the line. */
  depth(): number;
}
