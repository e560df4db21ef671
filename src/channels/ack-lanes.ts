/**
 * Appends that wait for replicas (PUBLISH_ACK_REPLICAS), answered within their time.
 *
 * WAIT blocks the connection it is sent on, and Redis runs a connection's commands in
 * order: an append pipelined behind a WAIT that waits for a frozen replica would start
 * its own WAIT only when that one gives up, so with a few connections the answers came
 * whole timeouts late, one after another (and queued without bound). Here each server
 * (a cluster's master: its replicas are its own) has lanes (the event log gives each
 * server one: batches on two connections interleave in Redis, and a client's publishes
 * to a channel would be stored out of order), one WAIT in flight per lane; the appends
 * that find every lane taken wait here, not in Redis, and when a lane frees it takes
 * them all (up to MAX_BATCH) as one batch: their appends in one pipeline, in the order
 * asked, then ONE WAIT, which covers every write made before it on its connection. So a
 * healthy replica confirms a whole batch per round trip, and:
 * - each publish has a deadline, PUBLISH_ACK_TIMEOUT_MS from when it was asked; a
 *   batch's WAIT is sent with what is left of its earliest one; one still waiting for a
 *   lane at its deadline is refused, never sent (nothing was written);
 * - each append of a batch is answered by its own reply (a script error fails only its
 *   publish) and the batch's WAIT (written, confirmed or not);
 * - once a WAIT comes back short, the replicas are taken as not confirming: one append
 *   at a time is sent to find out when they are back (the probe), and the others are
 *   refused at once, never sent, instead of each waiting out the timeout; the first
 *   WAIT that succeeds ends it;
 * - a batch whose reply is still missing well past its deadline is answered as Redis
 *   not answering (its appends may still be written): its lane stays taken until Redis
 *   replies.
 * What waits here is bounded by the publishes of one timeout.
 */

import { ReplicationShortError } from '../core/ports/event-store.ts';
import { StoreStalledError } from '../core/ports/store-readiness.ts';

/** What a batch sent with one WAIT came back with: each append's own reply, in order, and how many replicas confirmed them all. */
export interface AckReplies<T> {
  replies: [error: Error | null, value: T][];
  confirmed: number;
}

/** Send `appends` (one server's) on lane `lane` in one pipeline with one WAIT, its timeout `waitMs` (≥ 1). */
export type AckSend<A, T> = (lane: number, appends: A[], waitMs: number) => Promise<AckReplies<T>>;

/** How long past its deadline a sent batch's reply may take before its publishes are answered without it, ms. */
export const ANSWER_GRACE_MS = 1000;
/** The most appends sent with one WAIT. */
export const MAX_BATCH = 1000;

interface Waiting<A, T> {
  append: A;
  deadline: number;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** One server's lanes, its appends waiting for one (in deadline order), and what its replicas last did. */
interface Server<A, T> {
  busy: boolean[];
  queue: Waiting<A, T>[];
  timer: NodeJS.Timeout | undefined;
  /** Why the replicas are taken as not confirming (the last short WAIT), if they are. */
  short: string | undefined;
  /** The send order of the last short WAIT taken into account, and of the last confirmed one. */
  shortSeq: number;
  confirmedSeq: number;
  /** A probe is in flight: sent while `short`, to see whether the replicas are back. */
  probing: boolean;
}

export class AckLanes<A, T> {
  private readonly servers = new Map<string, Server<A, T>>();
  private sent = 0;

  constructor(
    private readonly lanes: number,
    private readonly replicas: number,
    private readonly timeoutMs: number,
    private readonly send: AckSend<A, T>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * `append`'s reply once sent to `server` and confirmed, or why not; asked at `askedAt`
   * (this.now's clock, never earlier than the appends submitted before it).
   */
  submit(server: string, askedAt: number, append: A): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const state = this.servers.get(server) ?? this.open(server);
      state.queue.push({ append, deadline: askedAt + this.timeoutMs, resolve, reject });
      this.pump(server, state);
    });
  }

  /** Appends waiting for a lane, on every server (for tests and reports). */
  get waiting(): number {
    let count = 0;
    for (const state of this.servers.values()) count += state.queue.length;
    return count;
  }

  private open(server: string): Server<A, T> {
    const state: Server<A, T> = {
      busy: Array.from({ length: Math.max(1, this.lanes) }, () => false),
      queue: [],
      timer: undefined,
      short: undefined,
      shortSeq: 0,
      confirmedSeq: 0,
      probing: false,
    };
    this.servers.set(server, state);
    return state;
  }

  /** Refuse the appends out of time, send the rest in batches while lanes are free; then wake up at the first one's deadline. */
  private pump(server: string, state: Server<A, T>): void {
    const now = this.now();
    while (state.queue.length > 0) {
      const next = state.queue[0] as Waiting<A, T>;
      const waitMs = Math.floor(next.deadline - now);
      if (waitMs < 1) {
        state.queue.shift();
        next.reject(
          new ReplicationShortError(
            `no connection for it came free within ${this.timeoutMs} ms (the appends before it were waiting for their replicas)`,
            false,
          ),
        );
        continue;
      }
      if (state.short !== undefined && state.probing) {
        state.queue.shift();
        next.reject(
          new ReplicationShortError(`the replicas are not confirming appends (${state.short})`, false),
        );
        continue;
      }
      const lane = state.busy.indexOf(false);
      if (lane < 0) break;
      // While the replicas are not confirming, a probe is one append: the others are refused unsent.
      const batch = state.queue.splice(0, state.short === undefined ? MAX_BATCH : 1);
      this.dispatch(server, state, lane, batch, waitMs);
    }
    clearTimeout(state.timer);
    state.timer = undefined;
    const first = state.queue[0];
    if (first) state.timer = setTimeout(() => this.pump(server, state), Math.max(1, first.deadline - now));
    else if (state.short === undefined && !state.busy.includes(true)) this.servers.delete(server);
  }

  /** Send `batch` on `lane` with one WAIT of `waitMs` (what is left of its first, earliest, deadline) and answer each of it. */
  private dispatch(
    server: string,
    state: Server<A, T>,
    lane: number,
    batch: Waiting<A, T>[],
    waitMs: number,
  ): void {
    const seq = ++this.sent;
    const probe = state.short !== undefined;
    state.busy[lane] = true;
    if (probe) state.probing = true;
    let answered = false;
    const answer = (settle: (append: Waiting<A, T>, index: number) => void) => {
      if (answered) return;
      answered = true;
      batch.forEach(settle);
    };
    // Redis did not reply in time (frozen, failing over): the publishes are answered now.
    const late = setTimeout(() => {
      const error = new StoreStalledError(
        `Redis did not answer the append within ${waitMs + ANSWER_GRACE_MS} ms`,
      );
      answer((append) => append.reject(error));
    }, waitMs + ANSWER_GRACE_MS);
    let sending: Promise<AckReplies<T>>;
    try {
      sending = this.send(
        lane,
        batch.map((waiting) => waiting.append),
        waitMs,
      );
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending
      .then(
        ({ replies, confirmed }) => {
          const why =
            confirmed >= this.replicas
              ? undefined
              : `${confirmed} of ${this.replicas} replicas confirmed the append within ${this.timeoutMs} ms`;
          if (why === undefined) {
            state.confirmedSeq = Math.max(state.confirmedSeq, seq);
            if (seq > state.shortSeq) state.short = undefined;
          } else if (seq > state.confirmedSeq) {
            // (Unless a WAIT sent after this one was confirmed: the replicas are back already.)
            state.short = why;
            state.shortSeq = Math.max(state.shortSeq, seq);
          }
          answer((append, index) => {
            const [error, value] = replies[index] ?? [new Error('append: no reply'), undefined];
            if (error) append.reject(error);
            else if (why !== undefined) append.reject(new ReplicationShortError(why));
            else append.resolve(value as T);
          });
        },
        (error: unknown) => answer((append) => append.reject(error)),
      )
      .finally(() => {
        clearTimeout(late);
        state.busy[lane] = false;
        if (probe) state.probing = false;
        this.pump(server, state);
      });
  }
}
