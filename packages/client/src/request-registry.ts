/**
 * Requests waiting for an answer from the gateway: publishes (answered by `ack`),
 * actions (answered by `reply`, which survives reconnects because it lands on the
 * session's inbox channel), history pages (answered by `history`) and presence pages
 * (answered by `present`). Subscriptions wait in their own objects (subscription.ts).
 */
import type { ActionFrame, HistoryFrame, PresenceFrame, PublishFrame } from './shared.ts';
import { TetherClientError } from './tether-client-error.ts';

export type RequestFrame = PublishFrame | ActionFrame | HistoryFrame | PresenceFrame;

export interface PendingRequest {
  readonly ref: string;
  readonly frame: RequestFrame;
  /** true once written to a socket (false while in the offline queue). */
  sent?: boolean;
  /** The session it was sent on. */
  sentOn?: string;
  /** When it was first written to a socket, ms since the epoch. */
  firstSentAt?: number;
  timer?: ReturnType<typeof setTimeout>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Asked before an error settles it: true when its owner sends it again instead (outbox.ts). */
  retry?(error: unknown): boolean;
  /** Told when it is answered or failed for good. */
  settled?(): void;
}

export class RequestRegistry {
  private seq = 0;
  private readonly byRef = new Map<string, PendingRequest>();

  /** A ref unique within this client: short, because it is on every frame. */
  nextRef(): string {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.seq.toString(36);
  }

  create<T>(frame: RequestFrame & { ref: string }): { request: PendingRequest; promise: Promise<T> } {
    let request!: PendingRequest;
    const promise = new Promise<T>((resolve, reject) => {
      request = { ref: frame.ref, frame, resolve: resolve as (value: unknown) => void, reject };
    });
    this.byRef.set(frame.ref, request);
    return { request, promise };
  }

  /** The request went out on `sessionId`; it fails with REQUEST_TIMEOUT unless answered in time. */
  markSent(request: PendingRequest, sessionId: string | undefined, timeoutMs: number): void {
    request.sent = true;
    request.sentOn = sessionId;
    request.firstSentAt ??= Date.now();
    clearTimeout(request.timer);
    request.timer = setTimeout(
      () =>
        this.reject(
          request.ref,
          new TetherClientError('REQUEST_TIMEOUT', { ref: request.ref, detail: `${timeoutMs} ms` }),
        ),
      timeoutMs,
    );
  }

  get(ref: string): PendingRequest | undefined {
    return this.byRef.get(ref);
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    let count = 0;
    for (const request of this.byRef.values()) if (request.sent) count++;
    return count;
  }

  resolve(ref: string, value: unknown): boolean {
    const request = this.take(ref);
    request?.resolve(value);
    return request !== undefined;
  }

  reject(ref: string, error: unknown): boolean {
    const request = this.byRef.get(ref);
    if (!request) return false;
    clearTimeout(request.timer);
    request.sent = false;
    if (!request.retry?.(error)) this.take(ref)?.reject(error);
    return true;
  }

  /** Reject every request `match` selects, with the error `errorFor` builds for it. */
  rejectWhere(
    match: (request: PendingRequest) => boolean,
    errorFor: (request: PendingRequest) => unknown,
  ): void {
    for (const request of [...this.byRef.values()])
      if (match(request)) this.reject(request.ref, errorFor(request));
  }

  /** Everything fails, retry or not, with the error `errorFor` builds for it: nothing will answer now. */
  rejectAll(errorFor: (request: PendingRequest) => unknown): void {
    for (const ref of [...this.byRef.keys()]) {
      const request = this.take(ref);
      request?.reject(errorFor(request));
    }
  }

  private take(ref: string): PendingRequest | undefined {
    const request = this.byRef.get(ref);
    if (!request) return undefined;
    this.byRef.delete(ref);
    clearTimeout(request.timer);
    request.settled?.();
    return request;
  }
}

/** A sent publish whose ack will not come: it may or may not have been stored. */
export function unconfirmed(request: PendingRequest, cause?: unknown): TetherClientError {
  return new TetherClientError('DELIVERY_UNCONFIRMED', {
    ref: request.ref,
    detail: request.frame.type === 'publish' ? request.frame.channel : undefined,
    cause,
  });
}
