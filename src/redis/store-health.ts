/**
 * Is Redis answering? The one source of the store's readiness for the whole
 * process: hellos and publishes are refused with STORE_UNAVAILABLE, `/readyz`
 * answers 503 and `tether_redis_up` reads 0 from the same answer.
 *
 * A PING every `pingMs`, raced against `timeoutMs`: ioredis keeps a stalled
 * server's connection `ready` and queues commands behind it for ever, so the
 * connection's status alone would call a frozen Redis healthy. The PING waits behind
 * this process's own commands, so a late one counts only when none of those was
 * answered meanwhile either: a Redis busy with a storm's resumes is slow, not frozen,
 * and calling it down would refuse every client the storm brings back. On a cluster every
 * master is pinged: one that does not answer makes its slots' channels and
 * sessions unusable, so the store is not ready. A master that is gone altogether is no
 * longer in the client's list to ping, so the cluster's own view is asked too (CLUSTER
 * INFO): a cluster that refuses every command is not ready either, and one that serves
 * only some slots (coverage not required) is reported degraded.
 */

import type { Redis } from 'ioredis';
import { type StoreReadiness, StoreStalledError } from '../core/ports/store-readiness.ts';
import { isCluster, masters, nodeName, type RedisConnection } from './redis-target.ts';
import { isStoreUnavailableError } from './store-errors.ts';

export interface StoreHealthOptions {
  /** How often the round trip is measured, ms. @defaultValue 5000 */
  pingMs?: number;
  /** A PING unanswered this long counts as Redis down and is reported as a round trip this long, ms. @defaultValue 2000 */
  timeoutMs?: number;
  /** Each measured round trip (or the timeout, when it passed), ms. */
  onRoundTrip?: (ms: number) => void;
  /** Connections whose waiting commands fail when Redis is found not answering. @defaultValue none */
  answering?: RedisConnection[];
  /**
   * Redis was found gone — not connected, or not answering a PING in time: at every check
   * that finds it so, not once per outage. Redis may come back and go again between two
   * checks (a crash-looping server), and a client that joined the admission line while it
   * was back must be told as well; with nobody waiting, a repeat costs nothing.
   */
  onUnavailable?: () => void;
}

export class StoreHealth implements StoreReadiness {
  private roundTrip: number | undefined;
  private lastMasters: { node: string; roundTripMs: number }[] = [];
  private responding = true;
  /** On a cluster: why not every slot is served, as a master told at the last check. */
  private slotsFault: string | undefined;
  /**
   * The cluster refuses every command (cluster_state:fail, as with the default
   * `cluster-require-full-coverage yes` and a slot not served). With coverage not required
   * the other slots still work: the store stays ready and reports are degraded.
   */
  private clusterDown = false;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  /** Work waiting on the store (whileAnswering): failed when it is found not answering. */
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: StoreHealthOptions = {},
  ) {}

  start(): void {
    this.ping();
    this.timer = setInterval(() => this.ping(), this.options.pingMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  isReady(): boolean {
    return this.responding && !this.clusterDown && this.redis.status === 'ready';
  }

  /** Why a cluster that answers does not serve every slot, for reports (not ready if it refuses all). */
  get clusterFault(): string | undefined {
    return this.slotsFault;
  }

  isUnavailable(error: unknown): boolean {
    return error instanceof StoreStalledError || isStoreUnavailableError(error);
  }

  whileAnswering<T>(work: Promise<T>): Promise<T> {
    if (!this.responding) {
      work.catch(() => {}); // its outcome no longer has anyone to tell
      return Promise.reject(this.stalled());
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      work.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(reject);
          reject(error);
        },
      );
    });
  }

  /**
   * Redis was found not answering: every command waiting on the connections requests go
   * on (`options.answering`) fails now with a StoreStalledError, so each request gets its
   * coded answer (STORE_UNAVAILABLE) instead of waiting as long as Redis is frozen. They
   * stay in ioredis's queue, which keeps replies matched to commands when Redis answers
   * again: a late reply settles nothing. A wrapper per request (whileAnswering, kept for
   * handshakes) cost ~10 % of the relay's CPU per message; this costs nothing until Redis
   * stalls.
   */
  private failWaitingCommands(): void {
    const error = this.stalled();
    for (const fail of this.waiting) fail(error);
    this.waiting.clear();
    for (const connection of this.options.answering ?? [])
      for (const node of masters(connection))
        for (let i = 0; i < node.commandQueue.length; i++) {
          const command = node.commandQueue.get(i)?.command;
          // Not this check's own PING: its late answer is how Redis is seen back at once.
          if (command && command.name !== 'ping') command.reject(error);
        }
  }

  private stalled(): StoreStalledError {
    return new StoreStalledError(`Redis did not answer a PING within ${this.options.timeoutMs ?? 2000} ms`);
  }

  /** The last measured PING round trip, ms (undefined before the first or while down). */
  get roundTripMs(): number | undefined {
    return this.roundTrip;
  }

  /** Each master's last measured round trip, ms (one entry on a single server). */
  get masters(): readonly { node: string; roundTripMs: number }[] {
    return this.lastMasters;
  }

  /** PING every master at once (`answered[i]` set as master i answers); the slowest is the store's round trip. */
  private async pingMasters(nodes: Redis[], answered: boolean[]): Promise<void> {
    const [lastMasters] = await Promise.all([
      Promise.all(
        nodes.map(async (node, i) => {
          const started = performance.now();
          await node.ping();
          answered[i] = true;
          return { node: nodeName(node), roundTripMs: performance.now() - started };
        }),
      ),
      isCluster(this.redis) && nodes[0] ? this.checkSlots(nodes[0]) : undefined,
    ]);
    this.lastMasters = lastMasters;
  }

  /**
   * Slots unassigned or on a master the cluster agreed has failed. Not those a node merely
   * suspects (PFAIL: a slow master, a blip, still served): the store would flap with them.
   */
  private async checkSlots(node: Redis): Promise<void> {
    const info = String(await node.cluster('INFO'));
    const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
    const state = field('cluster_state') ?? 'unknown';
    const unserved =
      CLUSTER_SLOTS -
      Number(field('cluster_slots_assigned') ?? CLUSTER_SLOTS) +
      Number(field('cluster_slots_fail') ?? 0);
    this.clusterDown = state !== 'ok';
    this.slotsFault =
      state === 'ok' && unserved === 0
        ? undefined
        : `cluster_state:${state}, ${unserved} of ${CLUSTER_SLOTS} slots not served`;
  }

  private ping(): void {
    if (this.inFlight) return; // one PING at a time: a stalled one keeps Redis marked down
    if (this.redis.status !== 'ready') {
      this.roundTrip = undefined;
      this.options.onUnavailable?.(); // stopped, restarting, unreachable: ioredis is reconnecting
      return;
    }
    const timeoutMs = this.options.timeoutMs ?? 2000;
    this.inFlight = true;
    let late = false;
    let answered = false;
    const started = performance.now();
    const nodes = masters(this.redis);
    const pinged: boolean[] = nodes.map(() => false);
    let heads = nodes.map(queueHead);
    const judge = () => {
      // Node's timers count whole milliseconds of the loop's cached clock, so one can fire up
      // to a millisecond before timeoutMs has passed by performance.now(): wait that out, or
      // the round trip reported as "at least the timeout" would read 1.9997 s.
      const left = timeoutMs - (performance.now() - started);
      if (left > 0) {
        timeout = setTimeout(judge, Math.ceil(left));
        timeout.unref();
        return;
      }
      // Judged after this turn's poll phase has read what arrived: timers run first, so
      // when the gateway's own loop stalled past timeoutMs (a storm's handshakes), the
      // answer is waiting unread, and Redis must not be called down for the gateway's lag.
      setImmediate(() => {
        if (answered) return;
        // Each PING waits behind this process's own commands to that master: one whose
        // master answered some of them meanwhile is busy (a storm's resumes), not frozen.
        // Wait on while every master still owing its PING is busy so. (Nothing queued
        // before a PING: nothing to be busy with.)
        const now = nodes.map(queueHead);
        const busy = (i: number) => heads[i] !== undefined && now[i] !== heads[i];
        if (nodes.every((_, i) => pinged[i] || busy(i))) {
          heads = now;
          timeout = setTimeout(judge, timeoutMs);
          timeout.unref();
          return;
        }
        late = true;
        this.roundTrip = undefined;
        this.responding = false;
        this.options.onRoundTrip?.(performance.now() - started); // at least this slow
        this.failWaitingCommands();
        this.options.onUnavailable?.();
      });
    };
    let timeout = setTimeout(judge, timeoutMs);
    timeout.unref();
    this.pingMasters(nodes, pinged).then(
      () => {
        answered = true;
        clearTimeout(timeout);
        this.inFlight = false;
        if (late) {
          if (this.timer) this.ping(); // Redis is back: measure again now rather than at the next tick
          return;
        }
        this.roundTrip = performance.now() - started;
        this.responding = true;
        this.options.onRoundTrip?.(this.roundTrip);
      },
      () => {
        answered = true;
        clearTimeout(timeout);
        this.inFlight = false;
        this.roundTrip = undefined;
      },
    );
  }
}

const CLUSTER_SLOTS = 16384;

/** The oldest command a connection waits on: another one later means Redis answered it. */
function queueHead(node: Redis): unknown {
  return node.commandQueue.peekFront();
}
