/**
 * The core's PresenceStore port, for one gateway process. It keeps the members this
 * process holds — the sessions of its connection actors, `connected` or
 * `reconnecting`, in channels whose namespace tracks presence — and writes their
 * joins and leaves to Redis (channel-presence.ts), batched: every change of one
 * event-loop turn goes in one script call per channel, so a burst of subscribes costs
 * a few round trips, not one each. A batch Redis refused (a slot migrating, a failover)
 * is written again, backing off (`retryLater`).
 *
 * A session counts as present while it can be resumed: a dropped connection
 * (`reconnecting`) stays a member until its resume window ends, so a brief drop makes
 * no leave and no join. It leaves when it unsubscribes, when the session ends (bye, a
 * final disconnect, the window passed: the actor's transition to `closed`/`failed`),
 * or when its lease runs out (its process crashed). A session another process took
 * over is only forgotten here: that process holds it now.
 */
import type { Logger } from 'pino';
import type { ChannelPolicy } from '../config/channel-policy.ts';
import type { PresencePage, PresenceStore } from '../core/ports/presence-store.ts';
import type { Supervisor } from '../core/supervisor.ts';
import { INBOX_PREFIX, type PresenceMember } from '../shared/frames.ts';
import type { ChannelPresence, PresenceOp } from './channel-presence.ts';

interface HeldSession {
  member: Omit<PresenceMember, 'since'>;
  /** channel → when the session joined it (ms). */
  since: Map<string, number>;
}

/** Told when this process starts or stops holding members of a channel (join/leave delivery). */
export interface ChannelWatcher {
  /** Resolves once the channel's announcements are heard here. */
  watch(channel: string): Promise<void>;
  unwatch(channel: string): void;
}

/** The longest a presence read waits for this process's own writes to its channel, ms. */
const OWN_WRITES_WAIT_MS = 1000;
/**
 * A failed write is tried again after this, doubling to WRITE_RETRY_MAX_MS, at most
 * WRITE_RETRIES times (about 40 s); past that the lease refresh joins again what is held here
 * and a leave's lease lapses.
 */
const WRITE_RETRY_FIRST_MS = 250;
const WRITE_RETRY_MAX_MS = 5000;
const WRITE_RETRIES = 12;

export class PresenceTracker implements PresenceStore {
  private readonly sessions = new Map<string, HeldSession>();
  /** channel → session IDs this process holds in it. */
  private readonly channels = new Map<string, Set<string>>();
  /** Changes not yet written, per channel, in order (the last per session wins). */
  private pending = new Map<string, Map<string, PresenceOp>>();
  private flushing = false;
  /** Per channel, the last write sent (settled, never rejected): reads wait for it. */
  private readonly writing = new Map<string, Promise<void>>();
  /**
   * Channels whose join/leave subscription is on its way: their writes wait for it. The
   * first member's own join would otherwise be announced before this process listens, and
   * its local subscribers (that member first) would never get that frame.
   */
  private readonly subscribing = new Map<string, Promise<void>>();
  /** channel → its writes that failed in a row (while its retries back off). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly store: ChannelPresence,
    private readonly policy: ChannelPolicy,
    private readonly watcher: ChannelWatcher,
    private readonly logger: Logger,
  ) {}

  /** Session ends are read from the connection actors' transitions. */
  listen(supervisor: Supervisor): void {
    supervisor.onTransition((actor, from, to) => {
      const sessionId = actor.getSnapshot().context.sessionId;
      if (!sessionId || (to !== 'closed' && to !== 'failed')) return;
      if (from === 'connected' || from === 'reconnecting') this.sessionEnded(sessionId);
    });
  }

  subscribed(channel: string, member: Omit<PresenceMember, 'since'>): void {
    if (!this.tracks(channel)) return;
    let held = this.sessions.get(member.sessionId);
    if (!held) {
      held = { member, since: new Map() };
      this.sessions.set(member.sessionId, held);
    }
    if (!held.since.has(channel)) held.since.set(channel, Date.now());
    let local = this.channels.get(channel);
    if (!local) {
      local = new Set();
      this.channels.set(channel, local);
      if (this.policy(channel).joinLeave) this.watchFirst(channel);
    }
    local.add(member.sessionId);
    this.queue(channel, this.joinOf(held, channel));
  }

  unsubscribed(channel: string, sessionId: string): void {
    if (!this.tracks(channel)) return;
    this.release(channel, sessionId);
    this.queue(channel, { op: 'l', sessionId });
  }

  /**
   * Read after this process's own changes to the channel are written: a client that asks
   * right after its `subscribed` (or a backend after its subscribe order was carried out
   * here) finds that member, not the state before the turn's batch went out.
   */
  async page(channel: string, limit: number, cursor?: string): Promise<PresencePage> {
    if (this.pending.has(channel)) this.flush();
    const written = this.writing.get(channel);
    // Not longer than OWN_WRITES_WAIT_MS: a write held up (the join/leave watch's SUBSCRIBE on
    // a frozen node) must not hold the read too; it is then answered as Redis has it.
    if (written) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          written,
          new Promise((resolve) => (timer = setTimeout(resolve, OWN_WRITES_WAIT_MS))),
        ]);
      } finally {
        clearTimeout(timer); // the write came first: no timer left behind per read
      }
    }
    return this.store.page(channel, limit, cursor);
  }

  /** The session ended in this process: its memberships go, unless another process holds them now. */
  sessionEnded(sessionId: string): void {
    for (const channel of this.forget(sessionId)) this.queue(channel, { op: 'e', sessionId });
  }

  /** Another process took the session over: stop holding it here (it re-joins there). */
  forget(sessionId: string): string[] {
    const channels = [...(this.sessions.get(sessionId)?.since.keys() ?? [])];
    for (const channel of channels) this.release(channel, sessionId);
    return channels;
  }

  /** Extend the leases of every member held here; join again those Redis lost. Called with the session leases. */
  async refresh(): Promise<void> {
    // All channels at once: the command connection pipelines them into a few writes.
    await Promise.all(
      [...this.channels].map(async ([channel, local]) => {
        const { missing, moved } = await this.store.refresh(channel, [...local]);
        for (const sessionId of moved) this.release(channel, sessionId);
        for (const sessionId of missing) {
          const held = this.sessions.get(sessionId);
          if (held?.since.has(channel)) this.queue(channel, this.joinOf(held, channel));
        }
      }),
    );
  }

  /** Members held here, for the stats. */
  heldCount(): number {
    let count = 0;
    for (const local of this.channels.values()) count += local.size;
    return count;
  }

  private tracks(channel: string): boolean {
    return !channel.startsWith(INBOX_PREFIX) && this.policy(channel).presence;
  }

  private joinOf(held: HeldSession, channel: string): PresenceOp {
    const since = held.since.get(channel) ?? Date.now();
    return { op: 'j', sessionId: held.member.sessionId, json: JSON.stringify({ ...held.member, since }) };
  }

  private release(channel: string, sessionId: string): void {
    const held = this.sessions.get(sessionId);
    held?.since.delete(channel);
    if (held && held.since.size === 0) this.sessions.delete(sessionId);
    const local = this.channels.get(channel);
    if (!local?.delete(sessionId) || local.size > 0) return;
    this.channels.delete(channel);
    if (this.policy(channel).joinLeave) this.watcher.unwatch(channel);
  }

  private watchFirst(channel: string): void {
    const ready: Promise<void> = this.watcher.watch(channel).then(() => {
      if (this.subscribing.get(channel) === ready) this.subscribing.delete(channel);
    });
    this.subscribing.set(channel, ready);
  }

  private queue(channel: string, op: PresenceOp): void {
    let ops = this.pending.get(channel);
    if (!ops) {
      ops = new Map();
      this.pending.set(channel, ops);
    }
    ops.delete(op.sessionId); // re-inserted last: the order of a session's changes is kept
    ops.set(op.sessionId, op);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write this turn's changes: one script call per channel (chunked past BATCH_LIMIT). */
  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = false;
    for (const [channel, ops] of batch) {
      const write = () =>
        this.store.apply(channel, [...ops.values()]).then(
          () => this.failures.delete(channel),
          (error: unknown) => {
            this.logger.warn({ err: error, channel }, 'presence: write failed');
            this.retryLater(channel, [...ops.values()]);
          },
        );
      // A later turn's writes chain after this one on the same promise: their order holds.
      const subscribing = this.subscribing.get(channel);
      const written: Promise<void> = (subscribing ? subscribing.then(write) : write())
        .then(
          () => {},
          () => {},
        )
        .then(() => {
          if (this.writing.get(channel) === written) this.writing.delete(channel);
        });
      this.writing.set(channel, written);
    }
  }

  /**
   * Write a failed batch again after a backoff: a slot migrating refuses the channel's scripts
   * (TRYAGAIN) until it has moved, a failover for a second or two, and a member whose join
   * failed would be missing (and its `joined` unsent) until the next lease refresh, a leave
   * listed until its lease lapsed. What changed meanwhile wins: a session with a newer change
   * pending is left to it, one held here now joins, one no longer held keeps its leave.
   */
  private retryLater(channel: string, ops: PresenceOp[]): void {
    const failures = (this.failures.get(channel) ?? 0) + 1;
    if (failures > WRITE_RETRIES) {
      this.failures.delete(channel);
      return;
    }
    this.failures.set(channel, failures);
    const delay = Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_FIRST_MS * 2 ** (failures - 1));
    setTimeout(() => {
      const newer = this.pending.get(channel);
      let again = 0;
      for (const op of ops) {
        if (newer?.has(op.sessionId)) continue;
        const held = this.channels.get(channel)?.has(op.sessionId) && this.sessions.get(op.sessionId);
        if (held) this.queue(channel, this.joinOf(held, channel));
        else if (op.op !== 'j') this.queue(channel, op);
        else continue;
        again++;
      }
      if (again === 0 && !newer) this.failures.delete(channel);
    }, delay).unref();
  }
}
