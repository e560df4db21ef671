/**
 * The messages between the bench (parent) and its load-generator processes, over
 * the Node IPC channel. Each command names a group of clients the generator holds;
 * each reply answers the command with the same `id`. Every command is bounded in
 * time by its own fields (durations, timeouts), so a generator always answers.
 */
import type { ClientKind } from '../systems/system.ts';

export interface ConnectCommand {
  type: 'connect';
  group: string;
  kind: ClientKind;
  url: string;
  count: number;
  /** Handshakes in flight at once in this generator. */
  concurrency: number;
  /** Local addresses to bind, round-robin (see lib/source-addresses.ts). */
  sourceAddresses: string[];
  /** Unique prefix for user IDs (tether token `sub`) and relay channels. */
  userPrefix: string;
  jwtSecret?: string;
  /** Subscribe every client to this channel once connected. */
  subscribe?: string;
  /** Prepare for relay (tether: subscribe each client to its own channel). */
  relay?: boolean;
  /** Tether: every publish carries a fresh `idempotencyKey` (the idempotency scenario). */
  idempotencyKeys?: boolean;
  /** Tether: offer permessage-deflate, ask for batched frames (the wire scenario). */
  wire?: WireOptions;
  timeoutMs: number;
}

/** How a Tether client asks to receive (bench/scenarios/wire.ts). */
export interface WireOptions {
  deflate?: boolean;
  batch?: boolean;
}
export interface ConnectReply {
  connected: number;
  failed: number;
  firstError?: string;
  ms: number;
}

/** Open loop: send at a fixed rate whatever comes back, then wait `graceMs` for stragglers. */
export interface RelayOpenCommand {
  type: 'relay-open';
  group: string;
  ratePerS: number;
  durationMs: number;
  graceMs: number;
  recordLatency: boolean;
}
export interface RelayOpenReply {
  sent: number;
  received: number;
  /** Round-trip times in ms (send → the same payload back), when recorded. */
  latenciesMs: number[];
  elapsedMs: number;
}

/** Closed loop: each client keeps `inFlight` messages outstanding for `durationMs`. */
export interface RelayClosedCommand {
  type: 'relay-closed';
  group: string;
  inFlight: number;
  durationMs: number;
  graceMs: number;
}
export interface RelayClosedReply {
  /** Replies received before the deadline. */
  received: number;
  durationMs: number;
}

export interface PublishCommand {
  type: 'publish';
  group: string;
  channel: string;
  count: number;
  /** Publish chat-like JSON objects (the wire scenario) instead of short strings. */
  chat?: boolean;
}
export interface PublishReply {
  sent: number;
  startedAt: number;
}

export interface ResetCountsCommand {
  type: 'reset-counts';
  group: string;
}

/** Resolves when every client of the group has `perClient` deliveries, or at the timeout. */
export interface AwaitDeliveriesCommand {
  type: 'await-deliveries';
  group: string;
  perClient: number;
  timeoutMs: number;
}
export interface AwaitDeliveriesReply {
  total: number;
  /** Epoch ms (high resolution) of the last delivery. */
  lastAt: number;
  complete: boolean;
  /** Bytes the group's sockets read since the last reset (clients that count them). */
  bytesRead: number;
}

/** How many clients of the group are still open (the scale scenario's "held"). */
export interface CountOpenCommand {
  type: 'count-open';
  group: string;
}
export interface CountOpenReply {
  open: number;
  /** The closed clients' end, counted by close code and error code. */
  closed: Record<string, number>;
}

export interface CloseCommand {
  type: 'close';
  group: string;
  timeoutMs: number;
}
export interface CloseReply {
  closed: number;
}

export interface StormConnectCommand {
  type: 'storm-connect';
  group: string;
  url: string;
  count: number;
  concurrency: number;
  sourceAddresses: string[];
  userPrefix: string;
  jwtSecret: string;
  channel: string;
  /** Largest backoff window (the SDK's `backoffMaxMs`); the SDK's default when absent. */
  backoffMaxMs?: number;
  timeoutMs: number;
}

export interface StormStatsCommand {
  type: 'storm-stats';
  group: string;
  /** Count events per client against this many published. */
  expectedEvents: number;
}
export interface StormStatsReply {
  clients: number;
  connected: number;
  /** Clients whose latest welcome resumed their session. */
  resumed: number;
  /** Clients that gave up resuming and started a fresh session. */
  resumeFailed: number;
  /** Epoch ms of the latest resumed welcome. */
  lastResumedAt: number;
  /** Resumed welcomes per 250 ms bucket, keyed by bucket start (epoch ms). */
  resumesPerBucket: Record<string, number>;
  /** Σ over clients of max(0, expected − distinct events received). */
  missing: number;
  duplicates: number;
  clientsComplete: number;
  connectAttempts: number;
  /** Clients not connected now, counted by how their last socket ended ("gave up" past the attempt limit). */
  disconnectedBecause: Record<string, number>;
  /** How every socket of the run ended (close code and error code, or the connect error), counted. */
  socketEnds: Record<string, number>;
}

export type Command =
  | ConnectCommand
  | RelayOpenCommand
  | RelayClosedCommand
  | PublishCommand
  | ResetCountsCommand
  | AwaitDeliveriesCommand
  | CountOpenCommand
  | CloseCommand
  | StormConnectCommand
  | StormStatsCommand;

export interface Replies {
  connect: ConnectReply;
  'relay-open': RelayOpenReply;
  'relay-closed': RelayClosedReply;
  publish: PublishReply;
  'reset-counts': Record<string, never>;
  'await-deliveries': AwaitDeliveriesReply;
  'count-open': CountOpenReply;
  close: CloseReply;
  'storm-connect': ConnectReply;
  'storm-stats': StormStatsReply;
}

export type Envelope = { id: number; command: Command };
export type ReplyEnvelope =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
