/**
 * `GET /users/:userId/sessions`: the user's sessions as Redis holds them — whichever
 * process holds each, `connected` or `reconnecting` (a session whose process stopped
 * renewing it counts as reconnecting) — with the user's block and token revocation, if any.
 */
import type { RedisSessionStore } from '../session/session-store.ts';
import type { Block, RedisRevocations } from './revocations.ts';

export interface SessionSummary {
  sessionId: string;
  state: 'connected' | 'reconnecting';
  /** The gateway process holding it (NODE_ID). */
  nodeId: string;
  connectionId: string;
  connectedAt: number;
  lastActivity: number;
  client: Record<string, string | undefined>;
  tier: string;
  channels: string[];
  /** Channels the backend subscribed it to (server-side subscriptions). */
  serverChannels: string[];
  reconnections: number;
  errors: number;
}

export interface UserSessions {
  userId: string;
  blocked: Block | null;
  /** Tokens issued before this time (ms) are refused; null: none revoked. */
  tokensRevokedBefore: number | null;
  sessions: SessionSummary[];
}

export async function userSessions(
  sessions: RedisSessionStore,
  revocations: RedisRevocations,
  userId: string,
): Promise<UserSessions> {
  const [ids, status] = await Promise.all([sessions.byUser.sessionIds(userId), revocations.status(userId)]);
  const found = await Promise.all(
    ids.map((id) => Promise.all([sessions.load(id), sessions.holderLapsed(id)])),
  );
  const summaries: SessionSummary[] = [];
  for (const [record, lapsed] of found) {
    // Listed but gone (deleted a moment ago, or expired): not a session any more.
    if (!record || record.userId !== userId) continue;
    const channels = [...record.channels];
    summaries.push({
      sessionId: record.sessionId,
      // Its process stopped renewing it (killed): waiting to be resumed, whatever it last wrote.
      state: lapsed ? 'reconnecting' : record.health,
      nodeId: record.nodeId,
      connectionId: record.connectionId,
      connectedAt: record.connectedAt,
      lastActivity: record.lastActivity,
      client: record.clientInfo,
      tier: record.tier,
      channels: channels.map(([channel]) => channel),
      serverChannels: channels.filter(([, position]) => position.server).map(([channel]) => channel),
      reconnections: record.reconnectionCount,
      errors: record.errorCount,
    });
  }
  summaries.sort((a, b) => a.connectedAt - b.connectedAt);
  return {
    userId,
    blocked: status.blocked ?? null,
    tokensRevokedBefore: status.revokedBefore ?? null,
    sessions: summaries,
  };
}
