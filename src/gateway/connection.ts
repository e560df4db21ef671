/**
 * One open socket: its identity, outbound sends (with the backpressure policy),
 * coded errors, and the translation of socket events into actor lifecycle events.
 * Frame semantics live in frame-handlers.ts and handshake.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';
import { type Socket, sendText } from '../edge/uws.ts';
import { errorFrame } from '../errors/tether-error.ts';
import { closeIfSlow } from '../limits/slow-consumers.ts';
import { observeError } from '../observability/connection-events.ts';
import { type ConnectionTrace, connectionTrace } from '../observability/connection-trace.ts';
import { connectionLogger, type Logger } from '../observability/logger.ts';
import { hot, metrics } from '../observability/metrics.ts';
import { type ErrorCode, errorSpec } from '../shared/errors.ts';
import type { ServerFrame } from '../shared/frames.ts';
import type { ConnectionActor } from '../supervisor/connection-actor.ts';
import { channelTopic, type GatewayContext } from './context.ts';

export interface SocketData {
  conn: Connection;
}

export interface Handshake {
  /** The socket's peer: a client, or the proxy in front of it. */
  peer: string;
  /** The client: the peer, or who a trusted proxy's X-Forwarded-For names (rate limits key this). */
  ip: string;
  userAgent: string;
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
}

/** Below this share of maxBackpressure a socket counts as writable again. */
const WRITABLE_SHARE = 0.25;

export class Connection {
  readonly id = randomUUID();
  correlationId: string;
  readonly openedAt = Date.now();
  ws: Socket<SocketData> | undefined;
  /** Set once the pool granted a slot (at once or from the queue). */
  admitted = false;
  /** Admission priority from the token's tier (1 = first); set at hello. */
  priority = Number.MAX_SAFE_INTEGER;
  /** Resolves when the per-IP connection-attempt limit has been checked (started at open). */
  ipChecked: Promise<void> = Promise.resolve();
  actor!: ConnectionActor;
  /** This socket's spans (docs/observability.md); a shared no-op when tracing is off. */
  readonly trace: ConnectionTrace;
  principal?: Principal;
  sessionId?: string;
  /** `waiting` for hello, `busy` verifying it (frames are held), `done`. */
  hello: 'waiting' | 'busy' | 'done' = 'waiting';
  readonly held: string[] = [];
  /** channel → the event ID after which this connection's delivery started. */
  readonly subscriptions = new Map<string, string>();
  /** Channels whose replay is still running (not yet live). */
  readonly replaying = new Set<string>();
  private closingWith: ErrorCode | 'bye' | undefined;
  private errors = 0;
  private errorsSince = Date.now();
  private writableWaiters: (() => void)[] = [];
  /** Token bucket for inbound frames: refilled at messagesPerSecond, bursts of 2×. */
  private messageTokens = 0;
  private tokensAt = 0;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ctx: GatewayContext,
    readonly handshake: Handshake,
  ) {
    this.correlationId = handshake.correlationId ?? randomUUID();
    this.messageTokens = 2 * ctx.config.limits.messagesPerSecond;
    this.tokensAt = this.openedAt;
    this.trace = connectionTrace(
      {
        connectionId: this.id,
        peerAddress: handshake.peer,
        clientAddress: handshake.ip,
        userAgent: handshake.userAgent,
        traceparent: handshake.traceparent,
        tracestate: handshake.tracestate,
      },
      this.correlationId,
    );
    metrics.connectionsOpened.inc();
  }

  /**
   * This connection's logger, with its current correlation ID, user and trace.
   * Built on each use (~3 µs; connections log lifecycle, not traffic) rather than
   * held: a pino child kept per socket is ~1 KB of an idle connection's memory.
   */
  get logger(): Logger {
    return connectionLogger(
      this.ctx.logger,
      { correlationId: this.correlationId, connectionId: this.id, userId: this.principal?.userId },
      this.trace.spanContext,
    );
  }

  get isOpen(): boolean {
    return this.ws !== undefined;
  }

  /** Open and sent its welcome: its session exists and the client holds the resume token. */
  get welcomed(): boolean {
    return this.isOpen && this.hello === 'done';
  }

  /** Send a frame; false when the socket is gone or had to be closed as a slow consumer. */
  send(frame: ServerFrame | string): boolean {
    const ws = this.ws;
    if (!ws) return false;
    const result = sendText(ws, typeof frame === 'string' ? frame : JSON.stringify(frame));
    hot.framesOutDirect++;
    if (result === 'dropped') {
      this.close('SLOW_CONSUMER'); // past uWS's own limit: no close frame fits (src/limits/slow-consumers.ts)
      return false;
    }
    return !closeIfSlow(this, this.ctx.config.maxBackpressureBytes);
  }

  /** Outbound buffers are low enough to keep sending (true once the socket is gone: nothing to wait for). */
  writable(): boolean {
    const ws = this.ws;
    return !ws || ws.getBufferedAmount() < this.ctx.config.maxBackpressureBytes * WRITABLE_SHARE;
  }

  whenWritable(): Promise<void> {
    if (this.writable()) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Report a coded error; closes the socket when the registry says so. */
  fail(code: ErrorCode, extra: { ref?: string; detail?: string; retryAfterMs?: number } = {}): void {
    const spec = errorSpec(code);
    this.logger.info({ code, detail: extra.detail, ref: extra.ref }, 'client error');
    if (spec.closeCode !== undefined) {
      this.close(code, extra);
      return;
    }
    observeError(this, code);
    this.send(errorFrame(code, this.correlationId, extra));
    // A frame refused for rate is not an invalid one: a burst must not end as TOO_MANY_ERRORS.
    if ((spec.category === 'client' || spec.category === 'event') && code !== 'MESSAGE_RATE_LIMITED')
      this.countError();
  }

  /** Close with a registry code: error frame first, so the client learns why. */
  close(code: ErrorCode, extra: { ref?: string; detail?: string; retryAfterMs?: number } = {}): void {
    const ws = this.ws;
    if (!ws || this.closingWith) return;
    this.closingWith = code;
    observeError(this, code);
    const closeCode = errorSpec(code).closeCode ?? 1011;
    ws.cork(() => {
      if (code !== 'SLOW_CONSUMER') sendText(ws, JSON.stringify(errorFrame(code, this.correlationId, extra)));
      ws.end(closeCode, code);
    });
  }

  /** A graceful, client-requested end: the session is over. */
  endByClient(): void {
    const ws = this.ws;
    if (!ws || this.closingWith) return;
    this.closingWith = 'bye';
    ws.end(1000, 'bye');
  }

  goLive(channel: string): void {
    this.ws?.subscribe(channelTopic(channel));
  }

  /** The token's expiry ends the transport (4002); the client resumes with a fresh token. */
  armTokenExpiry(expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    // setTimeout holds at most 2^31-1 ms; a later expiry is re-checked on resume anyway.
    const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.close('AUTH_TOKEN_EXPIRED'), delay);
    this.expiryTimer.unref();
  }

  onDrain(): void {
    if (!this.ws || !this.writable()) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The socket is gone (any reason): tell the actor, release the slot and the channels. */
  onClose(closeCode: number): void {
    this.ws = undefined;
    clearTimeout(this.expiryTimer);
    for (const resolve of this.writableWaiters) resolve();
    this.writableWaiters = [];
    for (const channel of this.subscriptions.keys()) this.ctx.reader.leave(channel);
    this.ctx.connections.delete(this.id);
    this.ctx.admission.onClosed(this);
    this.ctx.limits.onClosed(this);
    const reason = this.closingWith;
    if (reason === 'bye') this.actor.send({ type: 'transport.ended', reason: 'client said bye' });
    // Refused before the session existed, or a rule broken for good: the actor fails with the code.
    else if (reason && (!errorSpec(reason).retryable || this.actor.getSnapshot().matches('connecting')))
      this.actor.send({ type: 'policy.violated', code: reason });
    else this.actor.send({ type: 'transport.lost', closeCode });
    this.logger.debug({ closeCode, reason }, 'socket closed');
    this.trace.closed(closeCode, reason); // after the actor moved, so its transition is in the trace
  }

  /** false when the connection is over its inbound frame rate (the frame is not processed). */
  takeMessageToken(): boolean {
    const rate = this.ctx.config.limits.messagesPerSecond;
    if (rate === 0) return true;
    const now = Date.now();
    this.messageTokens = Math.min(2 * rate, this.messageTokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.messageTokens < 1) return false;
    this.messageTokens -= 1;
    return true;
  }

  /** After a refused take: ms until the bucket holds a whole token again. */
  msUntilMessageToken(): number {
    const rate = this.ctx.config.limits.messagesPerSecond;
    return rate === 0 ? 0 : Math.ceil(((1 - this.messageTokens) * 1000) / rate);
  }

  private countError(): void {
    const now = Date.now();
    if (now - this.errorsSince > 60_000) {
      this.errors = 0;
      this.errorsSince = now;
    }
    if (this.sessionId) this.ctx.sessions.incrementErrors(this.sessionId);
    if (++this.errors > this.ctx.config.maxErrorsPerMinute) this.close('TOO_MANY_ERRORS');
  }
}
