/**
 * What the client machine (machines/client.machine.ts) decides with, apart from the chart
 * itself: its input and their defaults (the SDK's option defaults), its context and events,
 * and the pure functions its guards and actions call. The chart file keeps to states and
 * transitions, so it reads as the map it is.
 */
import { AT_LEAST_JITTER, BACKOFF_DEFAULTS, jitteredAtLeast } from '../src/shared/backoff.ts';

/** What the machine needs to know about a failure; the runtime keeps the full error. */
export interface ClientFailure {
  /** A registry code (src/shared/errors.ts) or a client-side one (packages/client/src/client-errors.ts). */
  code: string;
  retryable: boolean;
  /** Do not come back sooner than this, ms: the server's hint, or the registry's typical wait. */
  retryAfterMs?: number;
  /**
   * true: the gateway sent `retryAfterMs` (it already spread its clients), so it is honoured as
   * is and nothing cuts it short. Otherwise it is the registry's default for the code, jittered
   * here so a crowd closed by the same bare close code does not come back in the same ms.
   */
  retryAfterFromServer?: boolean;
}

/** When the open socket last carried a frame each way, ms since the epoch (0: none yet). */
export interface LineActivity {
  /** Any frame from the gateway — event, ack, error, pong: proof that the connection is alive. */
  heardAt: number;
  /** Any frame to it (a frame we sent proves nothing about the way back). */
  sentAt: number;
}

/** What the gateway's `/readyz` said: 2xx, 503 (draining, or its Redis is down), or nothing at all. */
export type GatewayReadiness = 'ready' | 'not-ready' | 'unreachable';

export interface ClientMachineInput {
  /** Reconnect attempts after a loss before `failed`; `Infinity` never gives up. @defaultValue Infinity */
  maxAttempts?: number;
  /** First backoff window, ms. @defaultValue 500 */
  backoffBaseMs?: number;
  /** Largest backoff window, ms. @defaultValue 30000 */
  backoffMaxMs?: number;
  /** Least share of the backoff window a delay takes, in [0, 1]. @defaultValue 0.5 */
  backoffFloor?: number;
  /** Ask the gateway's `/readyz` before each reconnect; not ready costs no attempt. @defaultValue false */
  probeBeforeConnect?: boolean;
  /** Mean period of the readiness probe once the attempts ran out, ms (jittered ±50 %). @defaultValue 30000 */
  probeIntervalMs?: number;
  /** From asking for a token to `welcome`, ms (each of the two steps). @defaultValue 10000 */
  connectTimeoutMs?: number;
  /** Longest wait between two `queued` frames in the admission queue, ms. @defaultValue 60000 */
  queueTimeoutMs?: number;
  /**
   * Quiet on the line that sends a heartbeat ping, ms: nothing heard from the gateway, or nothing
   * sent to it, for this long. @defaultValue 20000
   */
  pingIntervalMs?: number;
  /** Time the gateway has to say anything after a ping before the socket counts as dead, ms. @defaultValue 10000 */
  pongTimeoutMs?: number;
  /**
   * The open socket's traffic, read when a heartbeat timer fires. Without it (the chart alone, in
   * tests and the visualizer) a ping goes out every `pingIntervalMs` and only a pong answers it.
   */
  lineActivity?: () => LineActivity;
  /**
   * The token is a fixed one (the SDK's `token` option, no getToken()): no new one can be had, so
   * an expired one ends in `failed` instead of being sent again. @defaultValue false
   */
  fixedToken?: boolean;
  /**
   * Refresh the token in band before it expires (needs a token source that can give a new
   * one). @defaultValue true
   */
  refreshInBand?: boolean;
  /**
   * Least time before the token's expiry to refresh it, ms; grows to a tenth of the token's
   * lifetime for long-lived tokens, and never exceeds half of it. @defaultValue 30000
   */
  refreshLeadMs?: number;
  /** Share of the wait until the refresh by which it may come earlier, in [0, 1]. @defaultValue 0.1 */
  refreshJitter?: number;
  /** Randomness for the jitter, in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** The clock, ms since the epoch. @defaultValue Date.now */
  now?: () => number;
  /**
   * Whether there is a network (a browser's `navigator.onLine`), read whenever an attempt ends: a
   * page may start offline and never hear an `offline` event. @defaultValue () => true
   */
  isOnline?: () => boolean;
}

/**
 * The input's defaults, and so the SDK's option defaults (packages/client/src/client-options.ts);
 * the backoff window comes from the shared backoff module. The seeds' bounded mode is
 * `maxAttempts: 10`.
 */
export const CLIENT_MACHINE_DEFAULTS = {
  maxAttempts: Number.POSITIVE_INFINITY,
  backoffBaseMs: BACKOFF_DEFAULTS.baseMs,
  backoffMaxMs: BACKOFF_DEFAULTS.maxMs,
  backoffFloor: 0.5,
  probeBeforeConnect: false,
  probeIntervalMs: 30_000,
  connectTimeoutMs: 10_000,
  queueTimeoutMs: 60_000,
  pingIntervalMs: 20_000,
  pongTimeoutMs: 10_000,
  fixedToken: false,
  refreshInBand: true,
  refreshLeadMs: 30_000,
  refreshJitter: 0.1,
} as const satisfies Required<Omit<ClientMachineInput, 'random' | 'now' | 'lineActivity' | 'isOnline'>>;

export interface ClientContext
  extends Required<
    Omit<
      ClientMachineInput,
      'backoffBaseMs' | 'backoffMaxMs' | 'backoffFloor' | 'refreshLeadMs' | 'refreshJitter' | 'lineActivity'
    >
  > {
  lineActivity?: () => LineActivity;
  /** When the heartbeat's last ping went out (context.now()). */
  pingSentAt: number;
  /** Reconnect attempts since the last `welcome`: sockets tried, not readiness checks. */
  attempt: number;
  /** Backoff steps since the last `welcome`: every planned wait, so a gateway that is not ready waits longer. */
  step: number;
  backoff: { baseMs: number; maxMs: number; floor: number };
  /** The delay chosen for the pending reconnect, ms. */
  retryDelayMs: number;
  /** The failure that led here (reconnecting or failed). */
  lastError?: ClientFailure;
  /** true when `failed` because the attempts ran out, not because of the error itself. */
  exhausted: boolean;
  /** A page-visible retry cut a backoff short since the last wait that ran its course. */
  visibleRetryUsed: boolean;
  sessionId?: string;
  queuePosition?: number;
  estimatedWaitMs?: number;
  refresh: { leadMs: number; jitter: number };
  /** When the connection's token expires, on this clock (ms since the epoch); absent: no `exp`. */
  tokenExpiresAt?: number;
  /** How long that token had left when it came into use, ms. */
  tokenLifetimeMs?: number;
  /** The wait chosen before the next refresh step (the refresh itself, or a retry of it), ms. */
  refreshDelayMs: number;
  /** Refresh retries since the token came into use. */
  refreshStep: number;
}

export type ClientEvent =
  | { type: 'client.connect' }
  | { type: 'client.disconnect' }
  | { type: 'socket.queued'; position: number; estimatedWaitMs: number }
  /** `tokenExpiresInMs`: how long the connection's token has left; absent when it has no `exp`. */
  | { type: 'socket.welcomed'; sessionId: string; tokenExpiresInMs?: number }
  /** The gateway accepted our `refresh`: the connection runs on the new token. */
  | { type: 'token.refreshed'; tokenExpiresInMs?: number }
  /** The gateway answered our `refresh` with an error that does not close the connection. */
  | { type: 'token.refreshFailed'; failure: ClientFailure }
  | { type: 'socket.closed'; failure: ClientFailure }
  | { type: 'heartbeat.pong' }
  | { type: 'network.offline' }
  | { type: 'network.online' }
  | { type: 'page.visible' };

export type ClientStateName = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** The context an actor starts with: the input, each option defaulted. */
export function initialContext(input: ClientMachineInput): ClientContext {
  const d = CLIENT_MACHINE_DEFAULTS;
  return {
    attempt: 0,
    step: 0,
    maxAttempts: input.maxAttempts ?? d.maxAttempts,
    backoff: {
      baseMs: input.backoffBaseMs ?? d.backoffBaseMs,
      maxMs: input.backoffMaxMs ?? d.backoffMaxMs,
      floor: input.backoffFloor ?? d.backoffFloor,
    },
    probeBeforeConnect: input.probeBeforeConnect ?? d.probeBeforeConnect,
    probeIntervalMs: input.probeIntervalMs ?? d.probeIntervalMs,
    connectTimeoutMs: input.connectTimeoutMs ?? d.connectTimeoutMs,
    queueTimeoutMs: input.queueTimeoutMs ?? d.queueTimeoutMs,
    pingIntervalMs: input.pingIntervalMs ?? d.pingIntervalMs,
    pongTimeoutMs: input.pongTimeoutMs ?? d.pongTimeoutMs,
    lineActivity: input.lineActivity,
    pingSentAt: 0,
    fixedToken: input.fixedToken ?? d.fixedToken,
    refreshInBand: input.refreshInBand ?? d.refreshInBand,
    refresh: {
      leadMs: input.refreshLeadMs ?? d.refreshLeadMs,
      jitter: input.refreshJitter ?? d.refreshJitter,
    },
    random: input.random ?? Math.random,
    now: input.now ?? Date.now,
    isOnline: input.isOnline ?? (() => true),
    retryDelayMs: 0,
    exhausted: false,
    visibleRetryUsed: false,
    refreshDelayMs: 0,
    refreshStep: 0,
  };
}

/**
 * ms until a heartbeat ping is due: once the line has been quiet either way for `intervalMs`. Traffic
 * both ways needs no probe. (An SSE stream keeps itself heard by the gateway on its own: the SDK's
 * SseSocket POSTs within the idle timeout of its `open` event, docs/protocol.md §1.1.) Without
 * `line`: a full period.
 */
export function pingDelay(line: LineActivity | undefined, intervalMs: number, now: number): number {
  if (!line) return intervalMs;
  return Math.max(0, Math.min(line.heardAt, line.sentAt) + intervalMs - now);
}

/** A ping is due now (without `line`: each time a period runs out). */
export function lineQuiet(line: LineActivity | undefined, intervalMs: number, now: number): boolean {
  return line === undefined || pingDelay(line, intervalMs, now) === 0;
}

/** Anything from the gateway since the ping (a pong, or any other frame — a refusal of the ping too). */
export function heardSince(line: LineActivity | undefined, sentAt: number): boolean {
  return line !== undefined && line.heardAt >= sentAt;
}

/** The least wait a failure asks for: the server's hint as is, a registry default jittered upwards. */
export function retryFloor(failure: ClientFailure | undefined, random: () => number): number {
  if (failure?.retryAfterMs === undefined) return 0;
  if (failure.retryAfterFromServer) return failure.retryAfterMs;
  return jitteredAtLeast(failure.retryAfterMs, AT_LEAST_JITTER, random);
}

/** A rejection from getToken(): its code when it carries one (the application's verdict), else TOKEN_UNAVAILABLE. */
export function toFailure(error: unknown): ClientFailure {
  const e = error as Partial<ClientFailure> | undefined;
  if (typeof e?.code !== 'string' || typeof e.retryable !== 'boolean')
    return { code: 'TOKEN_UNAVAILABLE', retryable: true };
  const failure: ClientFailure = { code: e.code, retryable: e.retryable };
  if (typeof e.retryAfterMs === 'number') {
    failure.retryAfterMs = e.retryAfterMs;
    failure.retryAfterFromServer = e.retryAfterFromServer === true;
  }
  return failure;
}

/** The top-level state of a snapshot value, e.g. `{ connected: 'live' }` → `connected`. */
export function topLevelState(value: string | Record<string, unknown>): ClientStateName {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as ClientStateName;
}
