/**
 * Sessions in Redis: one hash per session with the connection-state model of the
 * reliability seeds, so a client can resume on any gateway process.
 *
 * Ownership: a session is owned by the connection that last attached to it. Every
 * write made on behalf of a connection is conditional on still owning the session
 * (a Lua script), so a process that lost a client to another process can never
 * overwrite or delete the session it no longer holds.
 */

import type { ChannelPosition, SessionRecord, SessionStore } from '../core/ports/session-store.ts';
import type { Keys } from '../redis/keys.ts';
import { defineScripts, scriptTable } from '../redis/lua-scripts.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import type { UserSessionIndex } from './user-sessions.ts';

/** Each subscribed channel is a field of its own, `ch:<channel>` = `<after>[/<epoch>]`: a subscribe writes one field. */
const CHANNEL_FIELD = 'ch:';
/** `sv:<channel>` = `1`: the backend subscribed the session to it (a server-side subscription). */
const SERVER_FIELD = 'sv:';

export interface SessionTiming {
  /** TTL while live: the resume window and two lease intervals, so it outlasts a missed refresh. */
  liveTtlMs: number;
  /** TTL once the transport is gone: the resume window. */
  resumeWindowMs: number;
  /** How often the holding process renews its live sessions (SESSION_LEASE_MS). */
  leaseMs: number;
}

/** Renewals a process may miss before its sessions count as held by no one (node-presence.ts). */
const MISSED_LEASES = 3;

// KEYS[1] session key; ARGV[1] connection id expected to own it; then op-specific args.
const IF_OWNER_PREAMBLE = "if redis.call('HGET', KEYS[1], 'connection_id') ~= ARGV[1] then return 0 end ";

const SCRIPTS = {
  /** A new session: ARGV: ttl, field, value, ... One command, not a MULTI of two (four to send and answer). */
  tetherCreateSession: `redis.call('HSET', KEYS[1], unpack(ARGV, 2))
    redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1`,
  /** ARGV: conn, ttl, field, value, ... Returns the session's user (0 when not the owner). */
  tetherSetIfOwner: `${IF_OWNER_PREAMBLE}
    for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
    redis.call('PEXPIRE', KEYS[1], ARGV[2]) return redis.call('HGET', KEYS[1], 'user_id')`,
  /** Returns the session's user (0 when not the owner). */
  tetherDeleteIfOwner: `${IF_OWNER_PREAMBLE} local user = redis.call('HGET', KEYS[1], 'user_id')
    redis.call('DEL', KEYS[1]) return user`,
  /** ARGV: conn, field, ... */
  tetherDeleteFieldIfOwner: `${IF_OWNER_PREAMBLE}
    for i = 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end return 1`,
  /** Take over a session: ARGV: newConn, nodeId, now, ttl. Returns the previous owner's node, the user, the previous connection. */
  tetherAttach: `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
    local previous = redis.call('HMGET', KEYS[1], 'node_id', 'user_id', 'connection_id')
    redis.call('HSET', KEYS[1], 'connection_id', ARGV[1], 'node_id', ARGV[2], 'last_activity', ARGV[3], 'health', 'connected')
    redis.call('HINCRBY', KEYS[1], 'reconnection_count', 1)
    redis.call('PEXPIRE', KEYS[1], ARGV[4]) return previous`,
  /** Only a session that exists: a count must not create a hash without a TTL. */
  tetherIncrementErrors: `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    return redis.call('HINCRBY', KEYS[1], 'error_count', 1)`,
} as const;

type ScriptedRedis = RedisConnection & {
  tetherCreateSession(key: string, ttl: number, ...fieldValues: string[]): Promise<number>;
  tetherSetIfOwner(key: string, conn: string, ttl: number, ...fieldValues: string[]): Promise<string | 0>;
  tetherDeleteIfOwner(key: string, conn: string): Promise<string | 0>;
  tetherDeleteFieldIfOwner(key: string, conn: string, ...fields: string[]): Promise<number>;
  tetherAttach(
    key: string,
    conn: string,
    nodeId: string,
    now: number,
    ttl: number,
  ): Promise<[string | null, string | null, string | null] | null>;
  tetherIncrementErrors(key: string): Promise<number>;
};

export class RedisSessionStore implements SessionStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: RedisConnection,
    private readonly keys: Keys,
    private readonly timing: SessionTiming,
    /** Which sessions each user has, kept in step with the sessions' own lifetimes. */
    readonly byUser: UserSessionIndex,
  ) {
    defineScripts(redis, scriptTable(SCRIPTS, 1));
    this.redis = redis as ScriptedRedis;
  }

  async create(record: SessionRecord): Promise<void> {
    const key = this.keys.session(record.sessionId);
    // Two slots (the session's, the user's): two commands, sent together.
    await Promise.all([
      this.redis.tetherCreateSession(key, this.timing.liveTtlMs, ...hashFields(record)),
      this.byUser.hold(record.userId, record.sessionId, this.timing.liveTtlMs),
    ]);
  }

  async load(sessionId: string): Promise<SessionRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys.session(sessionId));
    return hash.session_id ? fromHash(hash) : undefined;
  }

  /** Re-attach a session to a new connection; undefined when it no longer exists. */
  async attach(
    sessionId: string,
    connectionId: string,
    nodeId: string,
  ): Promise<{ previousNodeId: string; previousConnectionId: string } | undefined> {
    const previous = await this.redis.tetherAttach(
      this.keys.session(sessionId),
      connectionId,
      nodeId,
      Date.now(),
      this.timing.liveTtlMs,
    );
    if (previous === null) return undefined;
    const [previousNodeId, userId, previousConnectionId] = previous;
    if (userId) await this.byUser.hold(userId, sessionId, this.timing.liveTtlMs);
    return { previousNodeId: previousNodeId ?? '', previousConnectionId: previousConnectionId ?? '' };
  }

  async markResumable(sessionId: string, connectionId: string): Promise<unknown> {
    const userId = await this.setIfOwner(sessionId, connectionId, this.timing.resumeWindowMs, {
      health: 'reconnecting',
      last_activity: String(Date.now()),
    });
    return userId ? this.byUser.hold(userId, sessionId, this.timing.resumeWindowMs) : undefined;
  }

  saveChannel(
    sessionId: string,
    connectionId: string,
    channel: string,
    position: ChannelPosition,
  ): Promise<unknown> {
    return this.setIfOwner(sessionId, connectionId, this.timing.liveTtlMs, {
      [`${CHANNEL_FIELD}${channel}`]: position.epoch ? `${position.after}/${position.epoch}` : position.after,
      ...(position.server ? { [`${SERVER_FIELD}${channel}`]: '1' } : {}),
      last_activity: String(Date.now()),
    });
  }

  dropChannel(sessionId: string, connectionId: string, channel: string): Promise<number> {
    return this.redis.tetherDeleteFieldIfOwner(
      this.keys.session(sessionId),
      connectionId,
      `${CHANNEL_FIELD}${channel}`,
      `${SERVER_FIELD}${channel}`,
    );
  }

  async deleteIfOwner(sessionId: string, connectionId: string): Promise<unknown> {
    const userId = await this.redis.tetherDeleteIfOwner(this.keys.session(sessionId), connectionId);
    return userId ? this.byUser.release(userId, sessionId) : undefined;
  }

  /**
   * End a session whoever holds it (a final disconnect ordered by the backend): it can no
   * longer be resumed. The process holding it, if any, is told separately (src/control/).
   */
  async end(sessionId: string): Promise<boolean> {
    const key = this.keys.session(sessionId);
    const [[, userId], [, deleted]] = (await this.redis.multi().hget(key, 'user_id').del(key).exec()) as [
      [unknown, string | null],
      [unknown, number],
    ];
    if (userId) await this.byUser.release(userId, sessionId);
    return deleted > 0;
  }

  /**
   * Keep live sessions alive: one PEXPIRE per session, every lease interval. Single
   * commands, one write per turn all the same (src/redis/redis-clients.ts), not one pipeline: a
   * pipeline must stay in one slot on a cluster, and sessions are spread over all.
   */
  async refreshLeases(held: Iterable<{ sessionId: string; userId: string }>): Promise<void> {
    const listed = [...held];
    if (listed.length === 0) return;
    await Promise.all([
      ...listed.map((session) =>
        this.redis.pexpire(this.keys.session(session.sessionId), this.timing.liveTtlMs),
      ),
      this.byUser.refresh(listed, this.timing.liveTtlMs),
    ]);
  }

  /**
   * Whether the session has gone unrenewed for MISSED_LEASES lease intervals: one still
   * marked `connected` then lost its process (killed, or frozen), and its client must resume
   * elsewhere. Read off the key's TTL, which every renewal sets back to `liveTtlMs` (one
   * waiting to be resumed has the shorter resume window, and counts as lapsed soon after).
   */
  async holderLapsed(sessionId: string): Promise<boolean> {
    const remaining = await this.redis.pttl(this.keys.session(sessionId));
    const unrenewedFor = this.timing.liveTtlMs - remaining;
    return remaining >= 0 && unrenewedFor >= MISSED_LEASES * this.timing.leaseMs;
  }

  incrementErrors(sessionId: string): void {
    this.redis.tetherIncrementErrors(this.keys.session(sessionId)).catch(() => {});
  }

  /** Writes `fields` when `connectionId` owns the session; resolves with its user, or 0 when it does not. */
  private setIfOwner(sessionId: string, connectionId: string, ttl: number, fields: Record<string, string>) {
    const args = Object.entries(fields).flat();
    return this.redis.tetherSetIfOwner(this.keys.session(sessionId), connectionId, ttl, ...args);
  }
}

/**
 * A record as the hash's fields and values, one flat list: what HSET takes. Built as the
 * list itself, not an object turned into entries and flattened (~3 µs less per connect).
 */
function hashFields(r: SessionRecord): string[] {
  const fields = [
    'session_id',
    r.sessionId,
    'connection_id',
    r.connectionId,
    'user_id',
    r.userId,
    'node_id',
    r.nodeId,
    'correlation_id',
    r.correlationId,
    'connected_at',
    String(r.connectedAt),
    'last_activity',
    String(r.lastActivity),
    'client_info',
    JSON.stringify(r.clientInfo),
    'health',
    r.health,
    'reconnection_count',
    String(r.reconnectionCount),
    'error_count',
    String(r.errorCount),
    'tier',
    r.tier,
    'resume_token_hash',
    r.resumeTokenHash,
  ];
  for (const [channel, position] of r.channels) {
    fields.push(
      `${CHANNEL_FIELD}${channel}`,
      position.epoch ? `${position.after}/${position.epoch}` : position.after,
    );
    if (position.server) fields.push(`${SERVER_FIELD}${channel}`, '1');
  }
  return fields;
}

/**
 * A stored hash back to a record. Never throws on what it finds: a position that is not
 * an event ID is handed on as it is, and planning it reports the channel's history as
 * lost (recovered: false) — a damaged session resumes with the gap said, not in a loop.
 */
function fromHash(h: Record<string, string>): SessionRecord {
  return {
    sessionId: h.session_id ?? '',
    connectionId: h.connection_id ?? '',
    userId: h.user_id ?? '',
    nodeId: h.node_id ?? '',
    correlationId: h.correlation_id ?? '',
    channels: channelsOf(h),
    connectedAt: Number(h.connected_at),
    lastActivity: Number(h.last_activity),
    clientInfo: parseObject(h.client_info) as SessionRecord['clientInfo'], // written by create() from the hello's strings
    health: h.health === 'reconnecting' ? 'reconnecting' : 'connected',
    reconnectionCount: Number(h.reconnection_count ?? 0),
    errorCount: Number(h.error_count ?? 0),
    tier: h.tier ?? 'standard',
    resumeTokenHash: h.resume_token_hash ?? '',
  };
}

function channelsOf(h: Record<string, string>): Map<string, ChannelPosition> {
  const channels = new Map<string, ChannelPosition>();
  // Sessions written before channels had fields of their own kept them as one JSON map.
  for (const [channel, after] of Object.entries(parseObject(h.channels)))
    if (typeof after === 'string') channels.set(channel, { after });
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith(CHANNEL_FIELD)) continue;
    const slash = value.indexOf('/');
    const channel = field.slice(CHANNEL_FIELD.length);
    const position: ChannelPosition =
      slash < 0 ? { after: value } : { after: value.slice(0, slash), epoch: value.slice(slash + 1) };
    if (Object.hasOwn(h, `${SERVER_FIELD}${channel}`)) position.server = true;
    channels.set(channel, position);
  }
  return channels;
}

function parseObject(json: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json ?? '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
