/**
 * Appends that wait for replicas (PUBLISH_ACK_REPLICAS), answered within their time.
 *
 * WAIT blocks the connection it is sent on, and Redis runs a connection's commands in
 * order: an append pipelined behind a WAIT that waits for a frozen replica would start
 * its own WAIT only when that one gives up, so with a few connections the answers came
 * whole timeouts late, one after another (and queued without bound). Here each server
 * (a cluster's master: its replicas are its own) has the ack connections as lanes, one
 * append with its WAIT in flight per lane; the others wait here, not in Redis, so:
 * - each publish has a deadline, PUBLISH_ACK_TIMEOUT_MS from when it was asked, and its
 *   WAIT is sent with what is left of it; one still waiting for a lane at its deadline is
 *   refused, never sent (nothing was written);
 * - once a WAIT comes back short, the replicas are taken as not confirming: one append
 *   at a time is sent to find out when they are back (the probe), and the others are
 *   refused at once, never sent, instead of each holding a lane for the whole timeout;
 *   the first WAIT that succeeds ends it;
 * - an append that was sent is answered by its WAIT (written, confirmed or not), and one
 *   whose reply is still missing well past its deadline is answered as Redis not
 *   answering (it may still be written): its lane stays taken until Redis replies.
 * What waits here is bounded by the publishes of one timeout.
 */

import { ReplicationShortError } from '../core/ports/event-store.ts';
import { StoreStalledError } from '../core/ports/store-readiness.ts';

/** What an append sent with WAIT came back with: its reply, and how many replicas confirmed it. */
export interface AckReply<T> {
  value: T;
  confirmed: number;
}

/** Send the append with its WAIT on lane `lane`, WAIT's timeout `waitMs` (≥ 1). */
export type AckSend<T> = (lane: number, waitMs: number) => Promise<AckReply<T>>;

/** How long past its deadline a sent append's reply may take before the publish is answered without it, ms. */
export const ANSWER_GRACE_MS = 1000;

interface Waiting {
  deadline: number;
  send: AckSend<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One server's lanes, its appends waiting for one, and what its replicas last did. */
interface Server {
  busy: boolean[];
  queue: Waiting[];
  timer: NodeJS.Timeout | undefined;
  /** Why the replicas are taken as not confirming (the last short WAIT), if they are. */
  short: string | undefined;
  /** The send order of the last short WAIT taken into account, and of the last confirmed one. */
  shortSeq: number;
  confirmedSeq: number;
  /** A probe is in flight: sent while `short`, to see whether the replicas are back. */
  probing: boolean;
}

export class AckLanes {
  private readonly servers = new Map<string, Server>();
  private sent = 0;

  constructor(
    private readonly lanes: number,
    private readonly replicas: number,
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The append `send` sends to `server`, asked at `askedAt` (this.now's clock): its reply, or why not. */
  submit<T>(server: string, askedAt: number, send: AckSend<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const state = this.servers.get(server) ?? this.open(server);
      state.queue.push({
        deadline: askedAt + this.timeoutMs,
        send,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.pump(server, state);
    });
  }

  /** Appends waiting for a lane, on every server (for tests and reports). */
  get waiting(): number {
    let count = 0;
    for (const state of this.servers.values()) count += state.queue.length;
    return count;
  }

  private open(server: string): Server {
    const state: Server = {
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

  /** Send, refuse or keep waiting each append in turn; then wake up at the first one's deadline. */
  private pump(server: string, state: Server): void {
    const now = this.now();
    while (state.queue.length > 0) {
      const next = state.queue[0] as Waiting;
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
      state.queue.shift();
      this.dispatch(server, state, lane, next, waitMs);
    }
    clearTimeout(state.timer);
    state.timer = undefined;
    const first = state.queue[0];
    if (first) state.timer = setTimeout(() => this.pump(server, state), Math.max(1, first.deadline - now));
    else if (state.short === undefined && !state.busy.includes(true)) this.servers.delete(server);
  }

  private dispatch(server: string, state: Server, lane: number, append: Waiting, waitMs: number): void {
    const seq = ++this.sent;
    const probe = state.short !== undefined;
    state.busy[lane] = true;
    if (probe) state.probing = true;
    let answered = false;
    const answer = (settle: () => void) => {
      if (answered) return;
      answered = true;
      settle();
    };
    // Redis did not reply in time (frozen, failing over): the publish is answered now.
    const late = setTimeout(
      () =>
        answer(() =>
          append.reject(
            new StoreStalledError(`Redis did not answer the append within ${waitMs + ANSWER_GRACE_MS} ms`),
          ),
        ),
      waitMs + ANSWER_GRACE_MS,
    );
    let sending: Promise<AckReply<unknown>>;
    try {
      sending = append.send(lane, waitMs);
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending
      .then(
        ({ value, confirmed }) => {
          if (confirmed >= this.replicas) {
            state.confirmedSeq = Math.max(state.confirmedSeq, seq);
            if (seq > state.shortSeq) state.short = undefined;
            answer(() => append.resolve(value));
            return;
          }
          const why = `${confirmed} of ${this.replicas} replicas confirmed the append within ${this.timeoutMs} ms`;
          // A WAIT sent after this one was confirmed: the replicas are back already.
          if (seq > state.confirmedSeq) {
            state.short = why;
            state.shortSeq = Math.max(state.shortSeq, seq);
          }
          answer(() => append.reject(new ReplicationShortError(why)));
        },
        (error: unknown) => answer(() => append.reject(error)),
      )
      .finally(() => {
        clearTimeout(late);
        state.busy[lane] = false;
        if (probe) state.probing = false;
        this.pump(server, state);
      });
  }
}
