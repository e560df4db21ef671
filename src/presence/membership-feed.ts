/**
 * Join/leave events for channels whose namespace enables them: every process listens
 * (pub/sub) to the channels it holds members of, merges what it hears, and sends its
 * local subscribers one `membership` frame per channel per window — the first change
 * at once, the rest of a burst in the next frame. The window is 250 ms, longer for a
 * large channel (members ÷ 4 ms: 2.5 s at 10,000), so a channel's subscribers together
 * get at most ~4,000 membership frames a second per process, whatever its size and
 * churn — never N frames for N joins to N subscribers. Each frame lists at most 100
 * joined and 100 left (`truncated` when more changed: the client asks `presence` for
 * the list), so its size is bounded too. Not durable: a client that was not connected
 * when a change was sent never sees it (its `presence` page is the truth).
 */

import type { Logger } from 'pino';
import type { RedisConnection } from '../redis/redis-target.ts';
import type { ChannelPresence } from './channel-presence.ts';
import type { ChannelWatcher } from './presence-tracker.ts';

/** At most one frame per channel per this many ms (more for large channels: windowMs). */
export const MEMBERSHIP_INTERVAL_MS = 250;
/** Members per ms of window: a channel's frames per second stay ≤ this × 1000 ÷ its members × its subscribers. */
const MEMBERS_PER_WINDOW_MS = 4;

/** The window for a channel of `members`: 250 ms up to 1,000 members, then members ÷ 4 ms. */
export const windowMs = (members: number) =>
  Math.max(MEMBERSHIP_INTERVAL_MS, members / MEMBERS_PER_WINDOW_MS);
/** Members listed per frame in `joined`, and again in `left`. */
export const MEMBERSHIP_LIST_MAX = 100;

interface Change {
  joined: boolean;
  /** What receivers knew before this window: a join then a leave within it is no news. */
  firstJoined: boolean;
  json: string;
}

interface Window {
  changes: Map<string, Change>;
  count: number;
  timer?: NodeJS.Timeout;
  lastSentAt: number;
}

export class MembershipFeed implements ChannelWatcher {
  private readonly watched = new Map<string, number>();
  private readonly windows = new Map<string, Window>();

  constructor(
    /** The control bus's subscribed connection: it ignores the presence channels, and they it. */
    private readonly subscriber: RedisConnection,
    private readonly presence: ChannelPresence,
    /** Send a frame to this process's live subscribers of `channel` (the edge's topic publish). */
    private readonly broadcast: (channel: string, text: string) => void,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (topic: string, message: string) => {
      const channel = presence.channelOf(topic);
      if (channel !== undefined && this.watched.has(channel)) this.heard(channel, message);
    });
  }

  /** Resolves once the channel's announcements reach this process (also when subscribing failed: it is logged). */
  watch(channel: string): Promise<void> {
    const refs = this.watched.get(channel) ?? 0;
    this.watched.set(channel, refs + 1);
    if (refs > 0) return Promise.resolve();
    return this.subscriber.subscribe(this.presence.topic(channel)).then(
      () => {},
      (error: unknown) => this.logger.warn({ err: error, channel }, 'presence: subscribe failed'),
    );
  }

  unwatch(channel: string): void {
    const refs = (this.watched.get(channel) ?? 0) - 1;
    if (refs > 0) {
      this.watched.set(channel, refs);
      return;
    }
    this.watched.delete(channel);
    const window = this.windows.get(channel);
    if (window?.timer) clearTimeout(window.timer);
    this.windows.delete(channel);
    this.subscriber.unsubscribe(this.presence.topic(channel)).catch(() => {});
  }

  stop(): void {
    for (const window of this.windows.values()) if (window.timer) clearTimeout(window.timer);
    this.windows.clear();
  }

  /** An announcement (presence-scripts.ts): `#<count>`, then `+<sid> <json>` / `-<sid> <json>` lines. */
  private heard(channel: string, message: string): void {
    let window = this.windows.get(channel);
    if (!window) {
      window = { changes: new Map(), count: 0, lastSentAt: 0 };
      this.windows.set(channel, window);
    }
    const lines = message.split('\n');
    window.count = Number((lines[0] ?? '#0').slice(1));
    for (const line of lines.slice(1)) {
      const space = line.indexOf(' ');
      if (space < 2) continue;
      const sessionId = line.slice(1, space);
      const joined = line[0] === '+';
      const earlier = window.changes.get(sessionId);
      window.changes.delete(sessionId);
      window.changes.set(sessionId, {
        joined,
        firstJoined: earlier?.firstJoined ?? joined,
        json: line.slice(space + 1),
      });
    }
    this.schedule(channel, window);
  }

  private schedule(channel: string, window: Window): void {
    if (window.timer) return;
    const wait = Math.max(0, window.lastSentAt + windowMs(window.count) - Date.now());
    // setTimeout even at 0: announcements that arrive in the same turn go in one frame.
    window.timer = setTimeout(() => this.send(channel, window), wait);
    window.timer.unref();
  }

  private send(channel: string, window: Window): void {
    window.timer = undefined;
    window.lastSentAt = Date.now();
    const joined: string[] = [];
    const left: string[] = [];
    let truncated = false;
    for (const change of window.changes.values()) {
      if (change.firstJoined && !change.joined) continue; // came and went within the window
      const list = change.joined ? joined : left;
      if (list.length < MEMBERSHIP_LIST_MAX) list.push(change.json);
      else truncated = true;
    }
    window.changes.clear();
    if (joined.length === 0 && left.length === 0) return;
    const text = `{"type":"membership","channel":${JSON.stringify(channel)},"count":${window.count},"joined":[${joined.join(',')}],"left":[${left.join(',')}]${truncated ? ',"truncated":true' : ''}}`;
    this.broadcast(channel, text);
  }
}
