/**
 * Cross-process fan-out of channel events.
 *
 * Every append announces its entry on the pub/sub channel named like the stream
 * key, in the same atomic script as the XADD (event-log.ts), so announcements
 * come in stream order. Each gateway process SUBSCRIBEs (SSUBSCRIBE with sharded
 * pub/sub, REDIS_PUBSUB: on a cluster, at the stream's own master), on one dedicated
 * connection, to the channels it has local subscribers for and hands every event
 * to `deliver` (uWS topic publish): one Redis message per event per process,
 * whatever the number of channels. (The first design re-issued one XREAD over
 * every subscribed stream after each event: O(channels) per event in the gateway
 * and in Redis — bench/README.md, "relay".)
 *
 * The stream stays the source of truth. Pub/sub sends nothing while the connection
 * is down, so after every (re)subscribe a channel is *synced*: announcements are
 * held while the stream is read after the cursor, then delivered in order, each
 * ID at most once.
 *
 * The cursor per channel is the exact ID up to which this process has delivered;
 * replay uses it to hand a socket over from the log to live delivery
 * with no gap and no duplicate (src/core/replay.ts).
 */

import type { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { type ChannelFeed, type LoggedEvent, ZERO_ID } from '../core/ports/event-store.ts';
import type { Keys } from '../redis/keys.ts';
import { isCluster, type PubSubMode, type RedisConnection } from '../redis/redis-target.ts';
import { compareEventIds } from '../shared/frames.ts';
import { type EpochNotice, type EventLog, epochNoticeOf, fromAnnouncement } from './event-log.ts';

export type Deliver = (channel: string, event: LoggedEvent) => void;

export interface ChannelReaderHooks {
  deliver: Deliver;
  /**
   * Catching up after a lost connection found events gone before they were read —
   * `trimmed` by retention, or the log `lost` history (Redis lost or restored it): this
   * process's subscribers of `channel` missed them and must resume (their resume reports
   * `recovered: false`). For `lost`, `epoch` is the log's epoch now: a subscriber whose
   * position is already in it was told of the loss when it subscribed, and is not told again.
   */
  missed(channel: string, why: 'trimmed' | 'lost', epoch?: string): void;
}

/** Events read per XRANGE while catching up. */
const PAGE = 500;
/** Announcements held per channel while it syncs; past this they are re-read from the stream. */
const HELD_MAX = 10_000;
const RETRY_MS = 250;
const RETRY_MAX_MS = 5000;
/** Unused logs re-read at once by keepUnusedLogs: a few round trips' worth. */
const KEEP_BATCH = 64;

interface Feed {
  refs: number;
  /** Delivered up to here; undefined until the first sync read the stream's newest ID. */
  cursor?: string;
  /** The epoch of the log the cursor belongs to. */
  epoch?: string;
  /** Announcements that arrived during a sync, delivered after it; undefined when live. */
  held?: (LoggedEvent | EpochNotice)[];
  /** Some announcements were not held (HELD_MAX): the sync must read the stream again. */
  overflowed?: boolean;
  /** The sync in flight, shared by joins. */
  syncing?: Promise<void>;
  /** A resync loop runs for this feed (one at most). */
  resyncing?: boolean;
  /** A reconnect since the running resync loop's last sync began: it must sync again. */
  resyncWanted?: boolean;
  /** Replays waiting for the cursor to reach an ID. */
  waiters?: { id: string; resolve: () => void }[];
}

/** ioredis's ClusterSubscriber: the one connection a classic cluster client listens through. */
interface SubscriberPicker {
  selectSubscriber(): void;
  getInstance(): { once(event: 'ready', listener: () => void): unknown } | null;
}

/**
 * A cluster client listens (classic pub/sub) through one connection to a node it picks,
 * and when that connection ends it picks another and re-subscribes by itself, telling no
 * one (ioredis 5 has no event for it; the client's own `close` and `ready` are the whole
 * cluster's): announcements sent meanwhile are lost, the next ones arrive, and the cursor
 * would pass the gap silently. Told of each pick before the new connection's first message,
 * the reader holds announcements and catches up from the stream once it is ready.
 * False when this ioredis has no such picker to wrap.
 */
function onSubscriberReplaced(cluster: Cluster, replaced: () => void, ready: () => void): boolean {
  const picker = (cluster as unknown as { subscriber?: Partial<SubscriberPicker> }).subscriber;
  if (typeof picker?.selectSubscriber !== 'function' || typeof picker.getInstance !== 'function')
    return false;
  const { selectSubscriber, getInstance } = picker as SubscriberPicker;
  picker.selectSubscriber = () => {
    replaced();
    selectSubscriber.call(picker);
    getInstance.call(picker)?.once('ready', ready);
  };
  return true;
}

export class ChannelReader implements ChannelFeed {
  private readonly feeds = new Map<string, Feed>();
  private readonly channelOfKey = new Map<string, string>();
  private running = false;
  private disconnected = false;
  private keepTimer: NodeJS.Timeout | undefined;
  private keeping = false;

  constructor(
    /** A connection of its own: in subscriber mode it can do nothing else. */
    private readonly subscriber: RedisConnection,
    private readonly log: EventLog,
    private readonly keys: Keys,
    private readonly hooks: ChannelReaderHooks,
    private readonly logger: Logger,
    /** How appends are announced (event-log.ts): SSUBSCRIBE for 'sharded'. @defaultValue 'classic' */
    private readonly pubsub: PubSubMode = 'classic',
  ) {}

  start(): void {
    this.running = true;
    if (this.log.unusedTtlMs > 0) {
      this.keepTimer = setInterval(() => void this.keepUnusedLogs(), this.log.unusedTtlMs / 4);
      this.keepTimer.unref();
    }
    const sharded = this.pubsub === 'sharded';
    this.subscriber.on(sharded ? 'smessage' : 'message', (key: string, message: string) =>
      this.onAnnouncement(key, message),
    );
    const lost = () => {
      this.disconnected = true;
      for (const feed of this.feeds.values()) feed.held ??= [];
    };
    const back = () => {
      if (!this.running || !this.disconnected) return;
      this.disconnected = false;
      for (const [channel, feed] of this.feeds)
        if (feed.cursor !== undefined) void this.resync(channel, feed);
    };
    if (isCluster(this.subscriber) && sharded) {
      // ioredis keeps one subscriber per master and re-subscribes by itself after a
      // topology change (a failover, a slot moved): announcements sent meanwhile went
      // to a node no one listened to, so every channel catches up from its stream.
      this.subscriber.on('-subscriber', lost);
      this.subscriber.on('subscribersReady', () => {
        this.disconnected = true;
        back();
      });
      return;
    }
    this.subscriber.on('close', lost);
    // The connection is made with autoResubscribe off: we re-subscribe ourselves and
    // know when it took effect, before reading what was missed.
    this.subscriber.on('ready', back);
    if (isCluster(this.subscriber) && !onSubscriberReplaced(this.subscriber, lost, back))
      this.logger.warn(
        'channel reader: this ioredis tells nothing when its cluster subscriber changes node; announcements lost then are caught up only at the next reconnect',
      );
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.keepTimer);
    if (this.subscriber.status !== 'ready') return;
    const keys = [...this.channelOfKey.keys()];
    if (this.pubsub === 'classic') await this.subscriber.unsubscribe().catch(() => {});
    else await Promise.all(keys.map((key) => this.subscriber.sunsubscribe(key).catch(() => {})));
  }

  /** The ID up to which `channel` has been delivered locally; undefined if not read. */
  cursor(channel: string): string | undefined {
    return this.feeds.get(channel)?.cursor;
  }

  epoch(channel: string): string | undefined {
    return this.feeds.get(channel)?.epoch;
  }

  /** Resolves once `channel` has been delivered up to `id` (or is no longer read). */
  whenPast(channel: string, id: string): Promise<void> {
    const feed = this.feeds.get(channel);
    if (!feed || (feed.cursor !== undefined && compareEventIds(feed.cursor, id) >= 0))
      return Promise.resolve();
    return new Promise((resolve) => {
      feed.waiters ??= [];
      feed.waiters.push({ id, resolve });
    });
  }

  /** Start reading `channel` (reference counted); resolves once its cursor is known. */
  async join(channel: string): Promise<void> {
    let feed = this.feeds.get(channel);
    if (!feed) {
      feed = { refs: 0, held: [] };
      this.feeds.set(channel, feed);
      this.channelOfKey.set(this.keys.channel(channel), channel);
    }
    feed.refs++;
    if (feed.cursor !== undefined) return;
    // Fail fast while Redis is away: a subscriber's commands would wait for it.
    // On failure the caller still holds its reference and must leave().
    if (this.subscriber.status !== 'ready')
      throw new Error('channel reader: RedisConnection is not connected');
    feed.syncing ??= this.sync(channel, feed);
    await feed.syncing;
  }

  leave(channel: string): void {
    const feed = this.feeds.get(channel);
    if (!feed || --feed.refs > 0) return;
    this.feeds.delete(channel);
    const key = this.keys.channel(channel);
    this.channelOfKey.delete(key);
    for (const waiter of feed.waiters ?? []) waiter.resolve();
    if (this.subscriber.status !== 'ready') return;
    const unsubscribed =
      this.pubsub === 'sharded' ? this.subscriber.sunsubscribe(key) : this.subscriber.unsubscribe(key);
    unsubscribed.catch(() => {});
  }

  channelCount(): number {
    return this.feeds.size;
  }

  private onAnnouncement(key: string, message: string): void {
    const channel = this.channelOfKey.get(key);
    const feed = channel === undefined ? undefined : this.feeds.get(channel);
    if (!feed || channel === undefined) return; // left while the message was in flight
    const announced = epochNoticeOf(message) ?? fromAnnouncement(message);
    if ('ephemeral' in announced) {
      // Live only: no position to keep in order with, so never held back by a sync.
      this.hooks.deliver(channel, announced);
    } else if (!feed.held) {
      this.accept(channel, feed, announced);
    } else if (feed.held.length < HELD_MAX) {
      feed.held.push(announced);
    } else {
      feed.overflowed = true;
    }
  }

  /** Subscribe, then read the stream from the cursor (or take its newest ID), then go live. */
  private async sync(channel: string, feed: Feed): Promise<void> {
    feed.held ??= [];
    try {
      // From here on, every append reaches us (a sharded SSUBSCRIBE goes to the stream's master).
      const key = this.keys.channel(channel);
      await (this.pubsub === 'sharded' ? this.subscriber.ssubscribe(key) : this.subscriber.subscribe(key));
      // A first join starts from the newest ID: what comes after it is announced to us.
      const fresh = feed.cursor === undefined;
      const head = await this.log.head(channel, feed.cursor);
      // Not the history delivered from: another epoch, IDs gone backwards, or the last event
      // delivered lost while later appends moved the newest ID past it (a failover).
      const broken =
        !fresh &&
        (head.epoch !== feed.epoch ||
          compareEventIds(head.newest, feed.cursor as string) < 0 ||
          head.missing);
      if (fresh || broken) {
        if (broken) await this.historyLost(channel, feed, head);
        else feed.epoch = head.epoch;
        feed.cursor = head.newest;
      }
      for (let mustRead = !fresh && !broken; mustRead || feed.overflowed; mustRead = false) {
        feed.overflowed = false;
        await this.catchUp(channel, feed);
      }
    } finally {
      feed.syncing = undefined;
    }
    if (this.feeds.get(channel) !== feed) return;
    const held = feed.held ?? [];
    feed.held = undefined;
    for (const announced of held) this.accept(channel, feed, announced);
  }

  /**
   * Back from a lost connection, the log is not the one this process was reading: a
   * new epoch (Redis lost it, or it was restored), or IDs below what was delivered, or
   * the last event delivered gone (a failover to a replica that missed writes — the
   * epoch is renewed, so every client holding a position in the old history hears of
   * it). Subscribers here must resume: theirs reports `recovered: false`.
   */
  private async historyLost(
    channel: string,
    feed: Feed,
    head: { epoch: string; newest: string },
  ): Promise<void> {
    const epoch = head.epoch === feed.epoch ? await this.log.renewEpoch(channel, head.epoch) : head.epoch;
    this.logger.warn(
      { channel, epoch: feed.epoch, now: epoch, cursor: feed.cursor, newest: head.newest },
      'channel reader: the log lost history this process had delivered',
    );
    feed.epoch = epoch;
    this.hooks.missed(channel, 'lost', epoch);
  }

  /**
   * The log this feed was reading has another epoch, with the connection up, so no resync
   * saw it: it was removed (FLUSHALL, an eviction, a DEL) and created anew by an append
   * or a read, or another process renewed its epoch (it found acked events gone). What was
   * delivered belongs to a history that is gone: subscribers here must resume
   * (`recovered: false`); the log is read on from `newest`, its newest ID at the change.
   */
  private epochChanged(channel: string, feed: Feed, epoch: string, newest = ZERO_ID): void {
    this.logger.warn(
      { channel, epoch: feed.epoch, now: epoch, cursor: feed.cursor, newest },
      'channel reader: the log has a new epoch under this process',
    );
    feed.epoch = epoch;
    feed.cursor = newest;
    this.hooks.missed(channel, 'lost', epoch);
  }

  /**
   * A log that never held an event expires UNUSED_LOG_TTL_MS after its last read
   * (event-log.ts). While this process has subscribers on one, it reads its head every
   * quarter of that, which keeps it — and the epoch those subscribers hold — however
   * long the channel stays quiet. Had it gone anyway (the timer late, Redis lost it),
   * the head comes back under another epoch and the subscribers are told.
   */
  private async keepUnusedLogs(): Promise<void> {
    if (this.keeping || this.disconnected || this.subscriber.status !== 'ready') return;
    this.keeping = true;
    try {
      const unused = [...this.feeds].filter(([, feed]) => feed.cursor === ZERO_ID && !feed.syncing);
      for (let i = 0; i < unused.length && this.running; i += KEEP_BATCH) {
        await Promise.all(
          unused.slice(i, i + KEEP_BATCH).map(async ([channel, feed]) => {
            const head = await this.log.head(channel);
            const current = this.feeds.get(channel) === feed && !feed.syncing;
            if (current && feed.cursor === ZERO_ID && head.epoch !== feed.epoch)
              this.epochChanged(channel, feed, head.epoch);
          }),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'channel reader: keeping unused logs failed; next round retries');
    } finally {
      this.keeping = false;
    }
  }

  /** Deliver what the stream holds after the cursor. */
  private async catchUp(channel: string, feed: Feed): Promise<void> {
    for (;;) {
      const { events, gap, more } = await this.log.page(channel, feed.cursor as string, '+', PAGE);
      if (this.feeds.get(channel) !== feed) return;
      if (gap) {
        this.logger.warn(
          { channel, after: feed.cursor },
          'channel reader: events trimmed before they were read',
        );
        this.hooks.missed(channel, 'trimmed');
      }
      for (const event of events) this.accept(channel, feed, event);
      if (!more) return;
    }
  }

  /**
   * After a reconnect: sync the channel again until it succeeds or is left — one loop per
   * channel however many reconnects are announced meanwhile (a cluster announces one per
   * node), and never given up while the channel is read: its announcements are held
   * until it syncs, so a loop that stopped would stall the channel for good. It backs off
   * to RETRY_MAX_MS and says so once per run of failures, not once per try.
   */
  private async resync(channel: string, feed: Feed): Promise<void> {
    // A reconnect announced while a sync runs may have dropped what that sync subscribed:
    // the loop then syncs once more.
    feed.resyncWanted = true;
    if (feed.resyncing) return;
    feed.resyncing = true;
    let failures = 0;
    try {
      while (this.running && this.feeds.get(channel) === feed && feed.resyncWanted) {
        try {
          if (this.subscriber.status !== 'ready') throw new Error('the subscriber connection is not ready');
          feed.resyncWanted = false;
          feed.syncing ??= this.sync(channel, feed);
          await feed.syncing;
          if (failures > 0 && !feed.resyncWanted)
            this.logger.info({ channel, failures }, 'channel reader: caught up after failures');
        } catch (error) {
          feed.resyncWanted = true;
          if (failures++ === 0)
            this.logger.warn({ err: error, channel }, 'channel reader: catching up failed; retrying');
          const delay = Math.min(RETRY_MS * 2 ** (failures - 1), RETRY_MAX_MS);
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    } finally {
      feed.resyncing = false;
    }
  }

  private accept(channel: string, feed: Feed, announced: LoggedEvent | EpochNotice): void {
    if ('newest' in announced) {
      // A sync that read the head after the change already took its epoch.
      if (announced.epoch !== feed.epoch) this.epochChanged(channel, feed, announced.epoch, announced.newest);
      return;
    }
    const event = announced;
    if (event.startedEpoch !== undefined && feed.epoch !== undefined && event.startedEpoch !== feed.epoch)
      this.epochChanged(channel, feed, event.startedEpoch);
    if (feed.cursor !== undefined && compareEventIds(event.id, feed.cursor) <= 0) return;
    feed.cursor = event.id;
    this.hooks.deliver(channel, event);
    if (feed.waiters) this.wakeWaiters(feed, event.id);
  }

  private wakeWaiters(feed: Feed, cursor: string): void {
    const waiting = feed.waiters ?? [];
    const done = waiting.filter((w) => compareEventIds(cursor, w.id) >= 0);
    if (done.length === 0) return;
    feed.waiters = waiting.length === done.length ? undefined : waiting.filter((w) => !done.includes(w));
    for (const waiter of done) waiter.resolve();
  }
}
