/**
 * The waiting line when the pool is saturated: a BullMQ prioritized queue in Redis
 * (priority from the token's tier, FIFO within a priority — BullMQ's ordering).
 *
 * How a job reaches the process holding its socket: each gateway process has its
 * own queue, named by its node ID, and is the only consumer of it. A waiting
 * client is by definition connected to that process, so the job never has to
 * travel; a client that would rather try another process simply reconnects.
 *
 * Jobs are taken by hand (`getNextJob`) only when a slot is free, so strict
 * priority holds: a waiter is never held by a worker while a better one arrives.
 * The fast path (free capacity) never touches this queue.
 *
 * A process clears its queue when it starts and stops; the queue of one that
 * crashed is removed by `POST /ws/cleanup` once its node key has expired.
 *
 * Each queue has its own hash tag (admissionQueuePrefix), so on a Redis Cluster the
 * queues of different processes spread over the masters instead of sharing one slot.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Logger } from '../observability/logger.ts';
import type { OutageLog } from '../observability/outage-log.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import { scanMasters } from '../redis/scan-masters.ts';

export interface AdmissionJob {
  connectionId: string;
  priority: number;
  enqueuedAt: number;
  /** The waiting connection's correlation ID, so a job found in Redis leads to its logs and trace. */
  correlationId?: string;
}

export interface AdmissionQueueOptions {
  /** A connection BullMQ may duplicate for its own use. */
  connection: RedisConnection;
  /** REDIS_PREFIX. */
  redisPrefix: string;
  nodeId: string;
  logger: Logger;
  /** Where BullMQ's errors go (one line per outage, not one per reconnect attempt). */
  redisErrors: OutageLog;
  /** A waiter reached the front and a slot is free; false when it is gone. */
  admit(connectionId: string, waitedMs: number): boolean;
}

const QUEUE_NAME_START = 'admission-';
/**
 * Jobs taken from the queue in one burst of round trips: ADMISSION_QUEUE_MAX's default, so
 * a full line empties in one burst. Under a reconnect storm a round trip waits hundreds of
 * ms behind the handshakes' own commands, so the burst size sets how fast the line drains
 * (docs/admission.md, § The BullMQ queue, has the storms measured at 100 and at 1000).
 */
const PULL_BATCH = 1000;

/**
 * The queue of node `nodeId`. BullMQ's names cannot hold ':', and a '{' or '}' would end the
 * queue's hash tag, so every character but letters, digits and '-' is written `_` and its
 * two hex digits (NODE_ID is printable ASCII): one name per ID, as two processes must never
 * share a queue (`gw.1` and `gw_1` once did).
 */
export function admissionQueueName(nodeId: string): string {
  const escaped = nodeId.replace(
    /[^A-Za-z0-9-]/g,
    (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `${QUEUE_NAME_START}${escaped}`;
}

/** BullMQ's key prefix of the queue named `queueName`: braced, a hash tag of its own. */
function prefixOfQueue(redisPrefix: string, queueName: string): string {
  return `{${redisPrefix}-bull-${queueName}}`;
}

/** BullMQ's key prefix of node `nodeId`'s queue (keys `{<prefix>-bull-admission-<node>}:admission-<node>:…`). */
export function admissionQueuePrefix(redisPrefix: string, nodeId: string): string {
  return prefixOfQueue(redisPrefix, admissionQueueName(nodeId));
}

export interface OrphanedQueues {
  /** Names of admission queues whose process is gone. */
  stale: string[];
  removed: number;
}

/**
 * Remove the admission queues in Redis whose process is no longer alive. Queues are
 * listed before `liveNodeIds` is asked: a process enters the node set before its queue
 * exists, so one starting meanwhile is never taken for gone.
 */
export async function removeOrphanedAdmissionQueues(
  redis: RedisConnection,
  options: { redisPrefix: string; liveNodeIds: () => Promise<Set<string>>; dryRun: boolean },
): Promise<OrphanedQueues> {
  const tagStart = prefixOfQueue(options.redisPrefix, QUEUE_NAME_START).slice(0, -1);
  const nameStart = tagStart.length - QUEUE_NAME_START.length;
  const names = new Set<string>();
  for await (const keys of scanMasters(redis, `${tagStart}*`))
    for (const key of keys) names.add(key.slice(nameStart, key.indexOf('}', nameStart)));
  const live = new Set([...(await options.liveNodeIds())].map(admissionQueueName));
  const stale = [...names].filter((name) => !live.has(name)).sort();
  if (options.dryRun) return { stale, removed: 0 };
  for (const name of stale) {
    const queue = new Queue(name, { connection: redis, prefix: prefixOfQueue(options.redisPrefix, name) });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close(); // a shared connection: BullMQ leaves it open
    }
  }
  return { stale, removed: stale.length };
}

interface Waiter {
  priority: number;
  /** Arrival order here. */
  seq: number;
  /** The place it was last told. */
  announced?: number;
  /** Its job's add was answered: from then on the queue in Redis holds it, or lost it. */
  stored?: boolean;
  correlationId?: string;
  enqueuedAt: number;
}

export class AdmissionQueue {
  private readonly queue: Queue<AdmissionJob>;
  private readonly worker: Worker<AdmissionJob>;
  private readonly token = randomUUID();
  /**
   * The position index beside BullMQ: who waits here, for positions and estimates
   * (every waiter is local), and the place each was last told.
   */
  private readonly waiting = new Map<string, Waiter>();
  private seq = 0;
  private pulling: Promise<void> = Promise.resolve();
  /** Moving average of ms per admission from the queue while someone waited, for wait estimates. */
  private admitIntervalMs = 1000;
  /** Where the time to the next admission counts from: the last admission, or the line's start if later. */
  private waitCountedFrom = 0;

  constructor(private readonly options: AdmissionQueueOptions) {
    const name = admissionQueueName(options.nodeId);
    const common = {
      connection: options.connection,
      prefix: admissionQueuePrefix(options.redisPrefix, options.nodeId),
    };
    this.queue = new Queue<AdmissionJob>(name, common);
    this.worker = new Worker<AdmissionJob>(name, null, { ...common, autorun: false });
    this.queue.on('error', (error) => options.redisErrors.error('admission queue', error));
    this.worker.on('error', (error) => options.redisErrors.error('admission worker', error));
  }

  /** Drop whatever a previous process with the same node ID left behind. */
  async start(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  async enqueue(connectionId: string, priority: number, correlationId?: string): Promise<void> {
    const waiter: Waiter = { priority, seq: this.seq++, correlationId, enqueuedAt: Date.now() };
    // A line forming anew: the time nobody waited is no one's wait (it once made estimates of minutes).
    if (this.waiting.size === 0) this.waitCountedFrom = waiter.enqueuedAt;
    this.waiting.set(connectionId, waiter);
    await this.store(connectionId, waiter);
  }

  /** Add the waiter's job; an add of a job ID the queue holds already changes nothing (BullMQ). */
  private async store(connectionId: string, waiter: Waiter): Promise<void> {
    const { priority, enqueuedAt, correlationId } = waiter;
    await this.queue.add(
      'admit',
      { connectionId, priority, enqueuedAt, correlationId },
      { priority, jobId: connectionId, removeOnComplete: true, removeOnFail: true },
    );
    waiter.stored = true;
  }

  /** Everyone's 1-based place in line: better priorities first, then arrival. */
  positions(): Map<string, number> {
    const line = [...this.waiting].sort(([, a], [, b]) => a.priority - b.priority || a.seq - b.seq);
    return new Map(line.map(([id], index) => [id, index + 1]));
  }

  /** One waiter's 1-based place in line (as in `positions()`), without sorting the line. */
  positionOf(connectionId: string): number | undefined {
    const own = this.waiting.get(connectionId);
    if (!own) return undefined;
    let ahead = 0;
    for (const other of this.waiting.values())
      if (other.priority < own.priority || (other.priority === own.priority && other.seq < own.seq)) ahead++;
    return ahead + 1;
  }

  /** Record that `connectionId` was told `position`; false when it is not waiting or already knew. */
  markAnnounced(connectionId: string, position: number): boolean {
    const entry = this.waiting.get(connectionId);
    if (!entry || entry.announced === position) return false;
    entry.announced = position;
    return true;
  }

  estimatedWaitMs(position: number): number {
    return Math.round(position * this.admitIntervalMs);
  }

  depth(): number {
    return this.waiting.size;
  }

  /** The connection left while waiting: forget it and drop its job. */
  leave(connectionId: string): boolean {
    if (!this.waiting.delete(connectionId)) return false;
    this.queue.remove(connectionId).catch(() => {}); // locked = being admitted right now: admit() sees it gone
    return true;
  }

  /** Fill up to `slots()` free slots from the front of the queue; serialized. Resolves with how many got in. */
  fill(slots: () => number): Promise<number> {
    const filled = this.pulling
      .then(() => this.pull(slots))
      .catch((error) => {
        this.options.logger.warn({ err: error }, 'admission queue: pull failed');
        return 0;
      });
    this.pulling = filled.then(() => {});
    return filled;
  }

  async close(): Promise<void> {
    await this.pulling;
    for (const closer of [
      () => this.worker.close(),
      () => this.queue.obliterate({ force: true }),
      () => this.queue.close(),
    ]) {
      try {
        await closer();
      } catch {
        // each step on its own: one failing must not skip the rest
      }
    }
  }

  /**
   * `count` waiters got in together at `now`: the time since the previous admission (or since
   * the line formed, if later) is shared among them, each averaged in as if alone. Counted
   * per admission, a burst of 1000 (PULL_BATCH) once drove the estimate to 0 for everyone.
   */
  private measureAdmissions(count: number, now: number): void {
    const perAdmission = (now - this.waitCountedFrom) / count;
    this.admitIntervalMs += (1 - 0.8 ** count) * (perAdmission - this.admitIntervalMs);
    this.waitCountedFrom = now;
  }

  /**
   * Take up to PULL_BATCH jobs at once, in two round trips. Taken one at a time, two round
   * trips each, waiters were admitted a few dozen a second (a reconnect storm at 40 ms
   * round trips: ~12/s, while thousands waited). Redis runs the scripts in the order they
   * were sent, so a batch still comes out in priority order and is admitted in it.
   */
  private async pull(slots: () => number): Promise<number> {
    let admitted = 0;
    let restored = false;
    for (;;) {
      const batch = Math.min(slots(), this.waiting.size, PULL_BATCH);
      if (batch <= 0) return admitted;
      const stored = new Set([...this.waiting.values()].filter((waiter) => waiter.stored));
      const jobs = await Promise.all(
        Array.from({ length: batch }, () => this.worker.getNextJob(this.token, { block: false })),
      );
      const taken = jobs.filter((job): job is NonNullable<typeof job> => job !== undefined);
      const completing = Promise.all(taken.map((job) => job.moveToCompleted('done', this.token, false)));
      const now = Date.now();
      let burst = 0;
      for (const job of taken) {
        const { connectionId, enqueuedAt } = job.data;
        if (!this.waiting.delete(connectionId)) continue; // left while waiting
        if (this.options.admit(connectionId, now - enqueuedAt)) burst++;
      }
      if (burst > 0) this.measureAdmissions(burst, now);
      admitted += burst;
      await completing;
      if (taken.length === batch) continue;
      // The queue ran dry with free slots left: a waiter whose job was stored before this
      // round and that was not taken lost its job in Redis (a restart without persistence,
      // a failover to a replica that lagged). Left alone it would hold the line and a free
      // slot until ADMISSION_TIMEOUT_MS; stored again (once per fill), it is taken next round.
      const lost = [...this.waiting].filter(([, waiter]) => stored.has(waiter));
      if (restored || lost.length === 0) return admitted;
      restored = true;
      this.options.logger.warn(
        { waiters: lost.length },
        'admission queue: waiters’ jobs were gone from Redis; stored again in their order',
      );
      lost.sort(([, a], [, b]) => a.priority - b.priority || a.seq - b.seq);
      await Promise.all(lost.map(([id, waiter]) => this.store(id, waiter))); // sent in this order
    }
  }
}
