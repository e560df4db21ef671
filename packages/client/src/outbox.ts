/**
 * Publishes and actions on their way out: sent at once when connected with nothing queued, else
 * held in the offline queue (bounded: OFFLINE_QUEUE_FULL past its capacity, never a silent drop)
 * and sent on the next `welcome`, oldest first; what the application sends meanwhile waits behind
 * them. Sent requests wait in the registry for their ack or reply, each with its timeout.
 *
 * Queued publishes go out one at a time, the next once the one before is stored (its ack). The
 * gateway's rate limit refuses a frame (MESSAGE_RATE_LIMITED) and takes the next as soon as its
 * bucket refills, so with two on the wire the later one could be stored before the refused one:
 * one on the wire is the only way a refusal cannot reorder them. A refused request goes back to
 * the head of the queue and out again after the gateway's `retryAfterMs`, and the rest of the
 * flush keeps a little under that pace, so the limit is met a few times, not once per publish.
 *
 * Each queued publish carries an `idempotencyKey` (the application's, or one made here), so the
 * SDK can send it again after a lost ack — none within `publishTimeoutMs`, or the socket dropped —
 * or a retryable refusal (STORE_UNAVAILABLE, after its `retryAfterMs`), and the gateway stores it
 * once. Only within `idempotencyWindowMs` of its first sending, while the
 * gateway remembers the key; after that the error stands, as for a publish sent at once.
 */
import type { OfflineQueue } from './offline-queue.ts';
import {
  type PendingRequest,
  type RequestFrame,
  type RequestRegistry,
  unconfirmed,
} from './request-registry.ts';
import { TetherClientError } from './tether-client-error.ts';

export interface OutboxDeps {
  requests: RequestRegistry;
  queue: OfflineQueue<PendingRequest>;
  send(frame: RequestFrame): void;
  /** Why a queued frame cannot go out on this connection (over its size limit), else undefined. */
  refusal(frame: RequestFrame): TetherClientError | undefined;
  sessionId(): string | undefined;
  timeoutMs(frame: RequestFrame): number;
  /** How long the gateway remembers an `idempotencyKey` (its IDEMPOTENCY_WINDOW_MS). */
  idempotencyWindowMs: number;
  /**
   * The queue overflowed: tell the application (each refused call's promise rejects too) —
   * once per overflow, as the `error` event is once per cause; again only after the queue
   * took a request since.
   */
  overflowed(error: TetherClientError): void;
}

/**
 * After a refusal, sends are spaced a quarter more than the gateway's wait for one frame's budget:
 * room for the heartbeat's pings and the application's other frames.
 */
const PACE_HEADROOM = 1.25;

/** Wait before sending a refused publish again when the refusal gave no `retryAfterMs`, ms. */
const REFUSED_WAIT_MS = 1000;

export class Outbox {
  /** From `welcome` until the queue is empty: new requests queue behind the old ones. */
  private flushing = false;
  /** The queued publish on the wire: nothing after it goes out until it is settled. */
  private onWire: PendingRequest | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** No send before this (ms since the epoch): the last refusal's `retryAfterMs`. */
  private notBefore = 0;
  /** Least time between two sends on this connection, from the longest `retryAfterMs` met on it. */
  private gapMs = 0;
  private lastSentAt = 0;
  /** This overflow was told (`overflowed`); cleared when the queue takes a request again. */
  private overflowTold = false;

  constructor(private readonly deps: OutboxDeps) {}

  get queued(): number {
    return this.deps.queue.size;
  }

  submit<T>(frame: RequestFrame & { ref: string }, connected: boolean): Promise<T> {
    if (connected && !this.flushing) {
      const { request, promise } = this.deps.requests.create<T>(frame);
      this.transmit(request);
      return promise;
    }
    const { request, promise } = this.deps.requests.create<T>(withIdempotencyKey(frame));
    try {
      this.deps.queue.push(request);
      this.overflowTold = false;
    } catch (error) {
      this.deps.requests.reject(request.ref, error);
      if (error instanceof TetherClientError && !this.overflowTold) {
        this.overflowTold = true;
        this.deps.overflowed(error);
      }
      return promise;
    }
    request.retry = (error) => this.retry(request, error);
    request.settled = () => {
      if (this.onWire !== request) return;
      this.onWire = undefined;
      this.pump();
    };
    return promise;
  }

  /** Connected again (a new rate budget): the queue goes out, oldest first. */
  flush(): void {
    this.stop();
    this.flushing = true;
    this.notBefore = this.gapMs = this.lastSentAt = 0;
    this.pump();
  }

  /** The socket is gone: send nothing more until the next `flush()`. */
  stop(): void {
    this.flushing = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Nothing will answer now: reject what is queued and what waits. */
  abandon(error: TetherClientError): void {
    this.stop();
    this.onWire = undefined;
    this.deps.queue.drain();
    // A queued publish already sent (its ack lost, waiting to go again) may be stored: say so.
    this.deps.requests.rejectAll((request) =>
      request.firstSentAt !== undefined && request.frame.type === 'publish'
        ? unconfirmed(request, error)
        : error,
    );
  }

  private pump(): void {
    if (!this.flushing || this.onWire || this.timer) return;
    for (let next = this.deps.queue.peek(); next; next = this.deps.queue.peek()) {
      const waitMs = Math.max(this.notBefore, this.lastSentAt + this.gapMs) - Date.now();
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        return;
      }
      this.deps.queue.shift();
      // Queued before any welcome said the gateway's limit: refused here, not sent to be cut.
      const refused = this.deps.refusal(next.frame);
      if (refused) {
        this.deps.requests.reject(next.ref, refused);
        continue;
      }
      this.lastSentAt = Date.now();
      this.transmit(next);
      // Actions, history and presence are not stored in a channel: they need not wait their answer.
      if (next.frame.type === 'publish') {
        this.onWire = next;
        return;
      }
    }
    this.flushing = false;
  }

  /** A queued request met `error`: true when it goes back to the head of the queue instead. */
  private retry(request: PendingRequest, error: unknown): boolean {
    const code = error instanceof TetherClientError ? error.code : undefined;
    if (code === 'MESSAGE_RATE_LIMITED') {
      // Not processed: sending it again is always safe.
      const waitMs = (error as TetherClientError).retryAfterMs ?? 0;
      this.notBefore = Date.now() + waitMs;
      this.gapMs = Math.max(this.gapMs, waitMs * PACE_HEADROOM);
    } else {
      // Any retryable answer — a lost ack (REQUEST_TIMEOUT, DELIVERY_UNCONFIRMED) or a refusal that
      // can pass (STORE_UNAVAILABLE: Redis down, or frozen with the append maybe done) — may be
      // sent again under the publish's key while the gateway remembers it, and nothing after it
      // goes out first.
      const retryable = error instanceof TetherClientError && error.retryable;
      const keyRemembered = Date.now() - (request.firstSentAt ?? 0) < this.deps.idempotencyWindowMs;
      if (!(retryable && request.frame.type === 'publish' && keyRemembered)) return false;
      const lostAck = code === 'REQUEST_TIMEOUT' || code === 'DELIVERY_UNCONFIRMED';
      if (!lostAck)
        this.notBefore = Date.now() + ((error as TetherClientError).retryAfterMs ?? REFUSED_WAIT_MS);
    }
    if (this.onWire === request) this.onWire = undefined;
    this.deps.queue.putBack(request);
    // The socket is alive unless it dropped; a dropped one's queue goes out after the next welcome.
    if (code !== 'DELIVERY_UNCONFIRMED') {
      this.flushing = true;
      this.pump();
    }
    return true;
  }

  private transmit(request: PendingRequest): void {
    this.deps.requests.markSent(request, this.deps.sessionId(), this.deps.timeoutMs(request.frame));
    this.deps.send(request.frame);
  }
}

/** A publish the SDK may have to send again: with a key, so the gateway stores it once. */
function withIdempotencyKey<F extends RequestFrame>(frame: F): F {
  if (frame.type !== 'publish' || frame.idempotencyKey !== undefined) return frame;
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const key = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return { ...frame, idempotencyKey: key };
}
