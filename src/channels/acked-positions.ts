/**
 * The newest event this process acked on each channel it appended to, kept so that when
 * Redis comes back from a lost connection — perhaps restarted from an older copy of its
 * data (a restored RDB, an AOF that lost its last second of writes) — each can be looked
 * for in its log (EventLog.confirmAcked). A log missing an event this process acked has
 * lost history: it gets a new epoch, so a client holding a position in it resumes with
 * `recovered: false` instead of being carried silently past the hole.
 *
 * The channel reader does the same for channels read live on this process, from what it
 * delivered (channel-reader.ts `historyLost`); these positions cover the channels no one
 * here reads — their subscribers may be offline, about to resume.
 */
import type { Logger } from 'pino';
import { isCluster, masters, nodeName, type RedisConnection } from '../redis/redis-target.ts';

/** Channels remembered at most: the most recently first-appended are kept. */
export const MAX_ACKED_CHANNELS = 10_000;

export class AckedPositions {
  private readonly newest = new Map<string, string>();

  constructor(private readonly maxChannels = MAX_ACKED_CHANNELS) {}

  /** `id` was acked on `channel` (IDs of one channel are acked in increasing order). */
  note(channel: string, id: string): void {
    if (this.newest.size >= this.maxChannels && !this.newest.has(channel)) {
      // The oldest entry by first append goes; a busy channel comes back with its next append.
      const oldest = this.newest.keys().next().value as string;
      this.newest.delete(oldest);
    }
    this.newest.set(channel, id);
  }

  /** The newest event acked on `channel`, if this process remembers one. */
  newestOf(channel: string): string | undefined {
    return this.newest.get(channel);
  }

  /** What was acked up to now, per channel. */
  snapshot(): [channel: string, id: string][] {
    return [...this.newest];
  }
}

/** What confirms the acked positions: the event log. */
export interface AckedHistory {
  confirmAcked(): Promise<string[]>;
}

/** How often a check that failed mid-failover (the slot not served yet) is tried again, ms. */
const CLUSTER_RETRY_MS = 1000;

/**
 * After `connection` was lost and is back, confirm that every channel's acked events are
 * still in its log; log the channels found broken. It is the connection positions are
 * planned on (EventLog's own), so a resume served after it is back waits for the check.
 *
 * A cluster whose master fails over keeps the connection as a whole up: nothing closes,
 * ioredis only finds another master for the slots when it refreshes its slot map. A map
 * that lost a master is the moment a replica that missed the last writes may have been
 * promoted, so it starts the check too — tried every second until it succeeds.
 */
export function confirmAckedAfterReconnect(
  connection: RedisConnection,
  log: AckedHistory,
  logger: Logger,
): void {
  let lost = false;
  let running = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  const confirm = () => {
    if (!lost || running) return;
    lost = false;
    running = true;
    log.confirmAcked().then(
      (broken) => {
        running = false;
        failures = 0;
        if (broken.length > 0)
          logger.warn(
            { channels: broken.slice(0, 20), count: broken.length },
            'redis came back without events this process had acked: those channels have a new epoch',
          );
      },
      (error: Error) => {
        running = false;
        lost = true; // tried again at the next reconnect (a cluster's: in a second)
        if (failures++ === 0) logger.warn({ err: error }, 'confirming acked events after a reconnect failed');
        if (isCluster(connection)) retryLater();
      },
    );
  };
  const retryLater = () => {
    clearTimeout(retry);
    retry = setTimeout(confirm, CLUSTER_RETRY_MS);
    retry.unref();
  };
  connection.on('close', () => {
    lost = true;
  });
  connection.on('ready', confirm);
  if (isCluster(connection)) {
    let before = new Set(masters(connection).map(nodeName));
    connection.on('refresh', () => {
      const now = new Set(masters(connection).map(nodeName));
      const masterGone = [...before].some((node) => !now.has(node));
      before = now;
      if (!masterGone) return;
      lost = true;
      confirm();
    });
  }
}
