/**
 * Cross-process fan-out: one blocking XREAD loop per gateway process over the
 * streams of every channel that has local subscribers. Each event is read from
 * Redis once per process and handed to `deliver` (uWS topic publish), so the cost
 * per subscriber is a local memcpy, not a Redis read.
 *
 * The reader's cursor per channel is the exact ID up to which it has delivered;
 * replay (src/channels/replay.ts) uses it to hand a socket over from replay to live
 * delivery with no gap and no duplicate.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Keys } from '../redis/keys.ts';
import { compareEventIds } from '../shared/frames.ts';
import { type EventLog, type LoggedEvent, toEvent } from './event-log.ts';

export type Deliver = (channel: string, event: LoggedEvent) => void;

const BLOCK_MS = 5000;
const BATCH = 1000;

export class ChannelReader {
  private readonly cursors = new Map<string, string>();
  private readonly refs = new Map<string, number>();
  private readonly joining = new Map<string, Promise<void>>();
  private readonly keyToChannel = new Map<string, string>();
  private running = false;
  private blockedClientId: number | undefined;
  /** Sequence number of the XREAD in flight, 0 when none. */
  private reading = 0;
  private readSeq = 0;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly blocking: Redis,
    private readonly control: Redis,
    private readonly log: EventLog,
    private readonly keys: Keys,
    private readonly deliver: Deliver,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    // After a reconnect ioredis re-sends the in-flight XREAD on a connection with a new
    // client ID; the old ID would unblock nothing (or another client of the new Redis).
    // CLIENT may run before `ready`, so asking on `connect` answers before the re-sent XREAD.
    this.blocking.on('close', () => {
      this.blockedClientId = undefined;
    });
    this.blocking.on('connect', () => {
      this.blocking
        .client('ID')
        .then((id) => {
          this.blockedClientId = Number(id);
        })
        .catch(() => {});
    });
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.interrupt();
    if (this.blocking.status !== 'ready') {
      // Redis unreachable: the pending XREAD (no retry limit) would wait for it forever,
      // and disconnect() does not settle it while ioredis waits to reconnect. Drop the
      // connection and do not wait for the loop.
      this.blocking.disconnect();
      return;
    }
    await this.loopDone;
  }

  /** The ID up to which `channel` has been delivered locally; undefined if not read. */
  cursor(channel: string): string | undefined {
    return this.cursors.get(channel);
  }

  /** Start reading `channel` (reference counted); resolves once its cursor is known. */
  async join(channel: string): Promise<void> {
    this.refs.set(channel, (this.refs.get(channel) ?? 0) + 1);
    if (this.cursors.has(channel)) return;
    let pending = this.joining.get(channel);
    if (!pending) {
      pending = this.log.lastId(channel).then((id) => {
        this.joining.delete(channel);
        if (!this.refs.get(channel) || this.cursors.has(channel)) return;
        this.cursors.set(channel, id);
        this.keyToChannel.set(this.keys.channel(channel), channel);
        void this.interrupt();
      });
      pending.catch(() => this.joining.delete(channel));
      this.joining.set(channel, pending);
    }
    // On failure the caller still holds its reference and must leave().
    await pending;
  }

  leave(channel: string): void {
    const left = (this.refs.get(channel) ?? 0) - 1;
    if (left > 0) {
      this.refs.set(channel, left);
      return;
    }
    this.refs.delete(channel);
    this.cursors.delete(channel);
    this.keyToChannel.delete(this.keys.channel(channel));
    void this.interrupt();
  }

  channelCount(): number {
    return this.cursors.size;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.cursors.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      try {
        this.blockedClientId ??= Number(await this.blocking.client('ID'));
        // Read the channel set only now, synchronously with sending the XREAD.
        const streams = [...this.cursors];
        this.reading = ++this.readSeq;
        const reply = (await this.blocking.xread(
          'COUNT',
          BATCH,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          ...streams.map(([channel]) => this.keys.channel(channel)),
          ...streams.map(([, id]) => id),
        )) as [string, [string, string[]][]][] | null;
        this.reading = 0;
        if (reply) this.dispatch(reply);
      } catch (error) {
        this.reading = 0;
        if (!this.running) break;
        if (!String(error).includes('UNBLOCKED')) {
          this.blockedClientId = undefined; // a reconnect gets a new client ID
          this.logger.warn({ err: error }, 'channel reader: XREAD failed; retrying when Redis is back');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }
  }

  private dispatch(reply: [string, [string, string[]][]][]): void {
    for (const [key, entries] of reply) {
      const channel = this.keyToChannel.get(key);
      if (channel === undefined) continue; // left while the read was in flight
      const from = this.cursors.get(channel) ?? '0-0';
      for (const [id, fields] of entries) {
        // A channel left and re-joined mid-read restarts from a newer cursor.
        if (compareEventIds(id, from) <= 0) continue;
        this.cursors.set(channel, id);
        this.deliver(channel, toEvent(id, fields));
      }
    }
  }

  /** Cut the blocking read short so the next one includes the changed channel set. */
  private async interrupt(): Promise<void> {
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
      return;
    }
    // UNBLOCK answers 0 when the XREAD has not reached Redis yet: try again briefly.
    const seq = this.reading;
    for (let attempt = 0; attempt < 50 && seq !== 0 && this.reading === seq; attempt++) {
      if (this.blockedClientId === undefined) return;
      try {
        const unblocked = await this.control.client('UNBLOCK', this.blockedClientId, 'ERROR');
        if (Number(unblocked) === 1) return;
      } catch {
        return; // Redis down: the loop's retry picks up the new channel set.
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}
