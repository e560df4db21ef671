/**
 * `client.stats()`: the connection in one call, as the seeds' connection statistics
 * have it — state, attempts, heartbeat, health, what waits to be sent, where each
 * subscription stands, reconnections and uptime. Plain data: log it, show it, send it.
 */
import type { SnapshotFrom } from 'xstate';
import type { ClientStateName, DetailedState } from './client-events.ts';
import type { clientMachine } from './shared.ts';
import type { StreamPosition, Subscription, SubscriptionState } from './subscription.ts';
import type { TetherClientError } from './tether-client-error.ts';
import type { TransportName } from './transport-choice.ts';

export interface ClientStats {
  state: ClientStateName;
  /** The machine's full state value, e.g. `{ reconnecting: 'waiting' }`. */
  detailedState: DetailedState;
  /** Reconnect attempts since the last `connected`. */
  attempt: number;
  /** `Infinity` unless a bounded mode was chosen. */
  maxReconnectAttempts: number;
  /** When the pending reconnect starts, ms since the epoch. */
  retryAt?: number;
  /** Connected, and the gateway heard from (any frame) within `pingIntervalMs + pongTimeoutMs`. */
  healthy: boolean;
  /** When the gateway last sent anything (event, ack, error, pong), ms since the epoch. */
  lastHeardAt?: number;
  /** When the last heartbeat `pong` arrived, ms since the epoch (none while traffic flows both ways). */
  lastHeartbeatAt?: number;
  /** Round trip of the last heartbeat, ms. */
  rttMs?: number;
  /** Server clock minus this clock, ms (from the last heartbeat). */
  clockSkewMs?: number;
  /** Publishes and actions waiting for a connection (the offline queue). */
  queued: number;
  /** Publishes and actions sent, waiting for their ack or reply. */
  inFlight: number;
  subscriptions: Record<string, { state: SubscriptionState; position?: StreamPosition }>;
  /** Connections after the first one (welcomes − 1). */
  reconnections: number;
  /** When the current connection was welcomed, ms since the epoch. */
  connectedAt?: number;
  /** How long the current connection has been up, ms; 0 when not connected. */
  uptimeMs: number;
  /** Events dropped because they had been delivered already (replay overlapping live delivery). */
  duplicatesDropped: number;
  /**
   * When the connection's token expires, on this clock (ms since the epoch); absent when it has
   * no `exp` or when not connected. The SDK refreshes it in band before then.
   */
  tokenExpiresAt?: number;
  sessionId?: string;
  correlationId?: string;
  /** The transport of the open socket: `websocket`, or `sse` (the fallback). */
  transport?: TransportName;
  /** The failure behind `reconnecting` or `failed`, as plain data. */
  lastError?: Record<string, unknown>;
}

/** What the client knows, gathered by `TetherClient.stats()`. */
export interface StatsSources {
  state: ClientStateName;
  snapshot: SnapshotFrom<typeof clientMachine>;
  latency: { rttMs?: number; clockSkewMs?: number; lastPongAt?: number };
  /** When the gateway last sent any frame. */
  heardAt: number | undefined;
  connectedAt: number | undefined;
  queued: number;
  inFlight: number;
  subscriptions: Subscription[];
  welcomes: number;
  duplicatesDropped: number;
  retryAt: number | undefined;
  sessionId: string | undefined;
  correlationId: string | undefined;
  transport: TransportName | undefined;
  lastError: TetherClientError | undefined;
}

export function clientStats(from: StatsSources, now: number = Date.now()): ClientStats {
  const { context } = from.snapshot;
  const connected = from.state === 'connected';
  const { rttMs, clockSkewMs, lastPongAt } = from.latency;
  // Any frame proves life, as the heartbeat counts it: a quiet line is pinged after a period, and
  // something is due within its timeout. Pongs alone would go stale while traffic makes pings needless.
  const heartbeatDue =
    (from.heardAt ?? from.connectedAt ?? now) + context.pingIntervalMs + context.pongTimeoutMs;
  // Null prototype: `__proto__` is a valid channel name and must stay an ordinary key.
  const subscriptions: ClientStats['subscriptions'] = Object.create(null);
  for (const s of from.subscriptions) {
    const position = s.position;
    subscriptions[s.channel] = position ? { state: s.state, position } : { state: s.state };
  }
  const stats: ClientStats = {
    state: from.state,
    detailedState: from.snapshot.value,
    attempt: context.attempt,
    maxReconnectAttempts: context.maxAttempts,
    healthy: connected && now <= heartbeatDue,
    queued: from.queued,
    inFlight: from.inFlight,
    subscriptions,
    reconnections: Math.max(0, from.welcomes - 1),
    uptimeMs: connected && from.connectedAt !== undefined ? now - from.connectedAt : 0,
    duplicatesDropped: from.duplicatesDropped,
  };
  const optional: Partial<ClientStats> = {
    retryAt: from.retryAt,
    lastHeardAt: from.heardAt,
    lastHeartbeatAt: lastPongAt,
    rttMs,
    clockSkewMs,
    connectedAt: connected ? from.connectedAt : undefined,
    tokenExpiresAt: connected ? context.tokenExpiresAt : undefined,
    sessionId: from.sessionId,
    correlationId: from.correlationId,
    transport: from.transport,
    lastError: from.lastError?.toJSON(),
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) Object.assign(stats, { [key]: value });
  return stats;
}
