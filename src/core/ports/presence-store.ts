/**
 * Who is subscribed to a channel whose namespace tracks presence (ChannelOptions
 * `presence`), as the core uses it: told of each subscribe and unsubscribe, asked
 * for pages. Everything else — which channels track presence, a session's end or
 * expiry, leases, join/leave events — belongs to the adapter (src/presence/), which
 * also listens to the connection actors' lifecycle.
 */
import type { PresenceMember } from '../../shared/frames.ts';

export interface PresencePage {
  /** Members now (O(1) to read), whatever the page holds. */
  count: number;
  members: PresenceMember[];
  /** Where the next page starts; undefined on the last. */
  cursor?: string;
}

export interface PresenceStore {
  /** A session's connection subscribed to `channel` (a resumed channel too: then nothing changes). */
  subscribed(channel: string, member: Omit<PresenceMember, 'since'>): void;
  /** The session let go of `channel` (an unsubscribe, or a channel dropped by a new token). */
  unsubscribed(channel: string, sessionId: string): void;
  /** One page of the channel's members, ordered by session ID, after `cursor`. */
  page(channel: string, limit: number, cursor?: string): Promise<PresencePage>;
}
