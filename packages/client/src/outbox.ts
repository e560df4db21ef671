/**
 * Publishes and actions on their way out: sent at once when connected, else held in
 * the offline queue (bounded: OFFLINE_QUEUE_FULL past its capacity, never a silent
 * drop) and sent in order, once, on the next `welcome`. Sent requests wait in the
 * registry for their ack or reply, each with its timeout.
 */
import type { OfflineQueue } from './offline-queue.ts';
import type { PendingRequest, RequestFrame, RequestRegistry } from './request-registry.ts';
import { TetherClientError } from './tether-client-error.ts';

export interface OutboxDeps {
  requests: RequestRegistry;
  queue: OfflineQueue<PendingRequest>;
  send(frame: RequestFrame): void;
  sessionId(): string | undefined;
  timeoutMs(frame: RequestFrame): number;
  /** The queue overflowed: tell the application (the promise rejects too). */
  overflowed(error: TetherClientError): void;
}

export class Outbox {
  constructor(private readonly deps: OutboxDeps) {}

  get queued(): number {
    return this.deps.queue.size;
  }

  submit<T>(frame: RequestFrame & { ref: string }, connected: boolean): Promise<T> {
    const { request, promise } = this.deps.requests.create<T>(frame);
    if (connected) this.transmit(request);
    else {
      try {
        this.deps.queue.push(request);
      } catch (error) {
        this.deps.requests.reject(request.ref, error);
        if (error instanceof TetherClientError) this.deps.overflowed(error);
      }
    }
    return promise;
  }

  /** Connected again: everything queued goes out, oldest first. */
  flush(): void {
    for (const request of this.deps.queue.drain()) this.transmit(request);
  }

  /** Nothing will answer now: reject what is queued and what waits. */
  abandon(error: TetherClientError): void {
    this.deps.queue.drain();
    this.deps.requests.rejectAll(error);
  }

  private transmit(request: PendingRequest): void {
    this.deps.requests.markSent(request, this.deps.sessionId(), this.deps.timeoutMs(request.frame));
    this.deps.send(request.frame);
  }
}
