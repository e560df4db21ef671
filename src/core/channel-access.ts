/**
 * Who may read a channel (subscribe to it, ask its history): a session's own inbox
 * only; a reserved `system:` channel only with a `channels` claim that names `system:`
 * patterns — `*` alone does not reach them, since they tell of every user's sessions;
 * any other channel by the token's `channels` claim. A connection also reads the
 * channels the backend subscribed its session to (server-side subscriptions).
 */
import { INBOX_PREFIX, inboxChannel, SYSTEM_PREFIX } from '../shared/frames.ts';
import type { Connection } from './connection.ts';
import { channelAllowed } from './principal.ts';

/** Whether `conn` may read `channel`: by its token (mayRead), or the backend's server-side subscription. */
export function connectionMayRead(
  conn: Pick<Connection, 'principal' | 'sessionId' | 'serverChannels'>,
  channel: string,
): boolean {
  return conn.serverChannels.has(channel) || mayRead(conn.principal?.channels ?? [], conn.sessionId, channel);
}

export function mayRead(
  patterns: readonly string[],
  sessionId: string | undefined,
  channel: string,
): boolean {
  if (channel.startsWith(INBOX_PREFIX)) return sessionId !== undefined && channel === inboxChannel(sessionId);
  if (channel.startsWith(SYSTEM_PREFIX))
    return channelAllowed(
      patterns.filter((pattern) => pattern.startsWith(SYSTEM_PREFIX)),
      channel,
    );
  return channelAllowed(patterns, channel);
}
