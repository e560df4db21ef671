/**
 * Sessions, as the core uses them: one record per session, written only by the
 * connection that owns it, so a client can resume on any gateway process.
 * Implemented over Redis hashes in src/session/session-store.ts.
 */

/** Where a session's delivery of a channel started: an event ID, in the log epoch it belongs to. */
export interface ChannelPosition {
  after: string;
  epoch?: string;
  /** The backend subscribed the session to it (src/control/): no token claim is needed for it. */
  server?: boolean;
}

export interface SessionRecord {
  sessionId: string;
  connectionId: string;
  userId: string;
  nodeId: string;
  correlationId: string;
  /** channel → where this session's delivery of it started (a Map: any channel name is a safe key). */
  channels: Map<string, ChannelPosition>;
  connectedAt: number;
  lastActivity: number;
  clientInfo: Record<string, string | undefined>;
  health: 'connected' | 'reconnecting';
  reconnectionCount: number;
  errorCount: number;
  tier: string;
  resumeTokenHash: string;
}

export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  load(sessionId: string): Promise<SessionRecord | undefined>;
  /** Take the session over for `connectionId`; undefined when it no longer exists. */
  attach(
    sessionId: string,
    connectionId: string,
    nodeId: string,
  ): Promise<{ previousNodeId: string; previousConnectionId: string } | undefined>;
  markResumable(sessionId: string, connectionId: string): Promise<unknown>;
  /** Record one channel's position (O(1) whatever the session's channel count). */
  saveChannel(
    sessionId: string,
    connectionId: string,
    channel: string,
    position: ChannelPosition,
  ): Promise<unknown>;
  dropChannel(sessionId: string, connectionId: string, channel: string): Promise<unknown>;
  deleteIfOwner(sessionId: string, connectionId: string): Promise<unknown>;
  incrementErrors(sessionId: string): void;
}

/** Tells the process that held a session before that another one took it over. */
export interface SessionNotices {
  /** `connectionId`: the connection the taker replaced, wherever it is in its life there. */
  sessionTaken(previousNodeId: string, sessionId: string, connectionId: string): void;
}
