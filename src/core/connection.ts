/**
 * One open socket: its identity, outbound sends (with the backpressure policy),
 * coded errors, and the facts of its life handed to its actor (the decisions are
 * the actor's: machines/connection.machine.ts). Frame semantics live in
 * frame-router.ts and the handshake steps.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { jitteredAtLeast } from '../shared/backoff.ts';
import { type ErrorCode, errorSpec } from '../shared/errors.ts';
import type { HelloFrame, ServerFrame } from '../shared/frames.ts';
import { compressFrom } from './compression.ts';
import type { ConnectionActor } from './connection-actor.ts';
import { BATCH_ENVELOPE_CHARS, batchFrameText, channelTopic } from './event-frames.ts';
import { MessageRate } from './message-rate.ts';
import { type Flushable, flushSoon } from './outbox.ts';
import { type EdgeSocket, SEND_DROPPED, type Transport } from './ports/edge-socket.ts';
import type { ReplayPlan } from './ports/event-store.ts';
import type { SessionRecord } from './ports/session-store.ts';
import type { ConnectionLogger, ConnectionTrace, ResumeTrace, Telemetry } from './ports/telemetry.ts';
import type { Principal } from './principal.ts';
import { errorFrame } from './tether-error.ts';
import { traffic } from './traffic.ts';

/** What a connection needs from the gateway it belongs to (implemented by src/core/gateway-core.ts). */
export interface ConnectionHost {
  readonly config: Config;
  readonly telemetry: Telemetry;
  /** A coded error reached the client. */
  errorReported(conn: Connection, code: ErrorCode): void;
  /** The socket is gone: forget it and release what it held. */
  socketClosed(conn: Connection, closeCode: number, reason: string | undefined): void;
}

/** What the upgrade request said about the client. */
export interface Handshake {
  transport: Transport;
  /** The request's path (the transport's endpoint). */
  path: string;
  /** The socket's peer: a client, or the proxy in front of it. */
  peer: string;
  /** The client: the peer, or who a trusted proxy's Forwarded / X-Forwarded-For names (rate limits key this). */
  ip: string;
  /** The scheme the client used (`https`…), as a trusted proxy says; none without one. */
  scheme?: string;
  /** None when the request carried no (or an empty) User-Agent. */
  userAgent?: string;
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
}

export interface ErrorExtra {
  ref?: string;
  detail?: string;
  retryAfterMs?: number;
}

// What a connection's collections read as before their first write: shared, never written.
const NO_SUBSCRIPTIONS: ReadonlyMap<string, string> = new Map();
const NO_CHANNELS: ReadonlySet<string> = new Set();

/**
 * Refusals of a frame's timing, not its content: sent again later, it is taken. A flood of
 * them is the message rate's to close (message-rate.ts), not the error budget's.
 */
const NOT_YET: ReadonlySet<ErrorCode> = new Set(['MESSAGE_RATE_LIMITED', 'WELCOME_PENDING']);

/** Below this share of maxBackpressure a socket counts as writable again. */
const WRITABLE_SHARE = 0.25;

export class Connection implements Flushable {
  readonly id = randomUUID();
  correlationId: string;
  readonly openedAt = Date.now();
  socket: EdgeSocket | undefined;
  actor!: ConnectionActor;
  /** This socket's spans (docs/observability.md); a shared no-op when tracing is off. */
  readonly trace: ConnectionTrace;
  principal?: Principal;
  sessionId?: string;
  /** The hello being handled: the handshake steps read it (it holds secrets: not in actor context). */
  hello?: HelloFrame;
  /** What hello said about the client (`hello.client`): presence shows it. */
  client?: HelloFrame['client'];
  /** Frames sent behind hello, held until welcome. */
  readonly held: string[] = [];
  /** The session hello asked to resume, when its resume token matched (authenticate → attach). */
  resumable?: SessionRecord;
  /** What the session's channels replay once welcome is out (set by the attach step). */
  pendingReplay?: { plans: Map<string, ReplayPlan>; trace?: ResumeTrace };
  // The three collections below are created on first write: most idle connections never
  // fill them, and an empty Map or Set costs ~230 bytes (bench/connection-memory.ts).
  private ownSubscriptions: Map<string, string> | undefined;
  /** channel → the epoch of the log this connection's position belongs to (its `subscribed` said it). */
  private ownEpochs: Map<string, string> | undefined;
  private ownReplaying: Set<string> | undefined;
  private ownServerChannels: Set<string> | undefined;
  private closingWith: ErrorCode | 'bye' | undefined;
  private framesRefused = false;
  /** Frames waiting for this turn's corked write (sendSoon). */
  private queued: string[] | undefined;
  /** Events waiting to leave as one `batch` frame (sendBatched), after `queued`. */
  private batched: string[] | undefined;
  /** Characters in `batched`: a batch is sealed before it would pass MAX_MESSAGE_BYTES. */
  private batchedChars = 0;
  /** Characters in `queued` and `batched`: not yet in the socket's buffer, but on their way. */
  private queuedChars = 0;
  /** Asked in hello (`batch: true`) for every channel's live events in `batch` frames. */
  batching = false;
  /** Ephemeral events held while the socket is backed up: the newest per channel (`offer`). */
  private heldEphemeral: Map<string, { text: string; batch: boolean }> | undefined;
  /** Who waits for the socket to drain (created on first wait, like the collections above). */
  private writableWaiters: (() => void)[] | undefined;
  /** Frames this long or longer go out compressed (src/core/compression.ts). */
  private readonly compressFrom: number;
  /** Inbound frames: their rate, and what refusals mean (message-rate.ts). */
  private readonly messageRate: MessageRate;

  constructor(
    readonly host: ConnectionHost,
    readonly handshake: Handshake,
  ) {
    this.correlationId = handshake.correlationId ?? randomUUID();
    this.compressFrom = compressFrom(host.config);
    this.messageRate = new MessageRate(host.config.limits.messagesPerSecond, this.openedAt);
    this.trace = host.telemetry.connectionTrace(
      {
        connectionId: this.id,
        transport: handshake.transport,
        path: handshake.path,
        peerAddress: handshake.peer,
        clientAddress: handshake.ip,
        scheme: handshake.scheme,
        userAgent: handshake.userAgent,
        traceparent: handshake.traceparent,
        tracestate: handshake.tracestate,
      },
      this.correlationId,
    );
  }

  /** This connection's logger, with its current correlation ID, user and trace. */
  get logger(): ConnectionLogger {
    return this.host.telemetry.connectionLogger(
      { correlationId: this.correlationId, connectionId: this.id, userId: this.principal?.userId },
      this.trace,
    );
  }

  /** channel → the event ID after which this connection's delivery started. */
  get subscriptions(): ReadonlyMap<string, string> {
    return this.ownSubscriptions ?? NO_SUBSCRIPTIONS;
  }

  setSubscription(channel: string, after: string): void {
    this.ownSubscriptions ??= new Map();
    this.ownSubscriptions.set(channel, after);
  }

  /**
   * The epoch of `channel`'s log that this connection was told its position belongs to. A
   * loss of that log found later closes the connection only if its epoch is an older one: a
   * connection told the new one already (it subscribed or resumed after the loss, and heard
   * `recovered: false` then) has been told.
   */
  subscriptionEpoch(channel: string): string | undefined {
    return this.ownEpochs?.get(channel);
  }

  setSubscriptionEpoch(channel: string, epoch: string): void {
    this.ownEpochs ??= new Map();
    this.ownEpochs.set(channel, epoch);
  }

  /** false when `channel` was not subscribed. */
  deleteSubscription(channel: string): boolean {
    this.ownEpochs?.delete(channel);
    return this.ownSubscriptions?.delete(channel) ?? false;
  }

  /** Channels whose replay is still running (not yet live). */
  get replaying(): ReadonlySet<string> {
    return this.ownReplaying ?? NO_CHANNELS;
  }

  startReplaying(channel: string): void {
    this.ownReplaying ??= new Set();
    this.ownReplaying.add(channel);
  }

  stopReplaying(channel: string): void {
    this.ownReplaying?.delete(channel);
  }

  /** Channels the backend subscribed this session to: kept whatever the token's `channels` claim says. */
  get serverChannels(): ReadonlySet<string> {
    return this.ownServerChannels ?? NO_CHANNELS;
  }

  addServerChannel(channel: string): void {
    this.ownServerChannels ??= new Set();
    this.ownServerChannels.add(channel);
  }

  deleteServerChannel(channel: string): void {
    this.ownServerChannels?.delete(channel);
  }

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  /**
   * Open, and no close decided: a frame read after the gateway decided to close (the error
   * budget spent, `bye`) is not carried out. An edge may hand on frames it had already read
   * (the ws edge does, from the same chunk): carried out, a publish would be stored and
   * never acked, and sent again on resume.
   */
  get takesFrames(): boolean {
    return this.socket !== undefined && this.closingWith === undefined && !this.framesRefused;
  }

  /** The close is decided and comes once the actor's step is done: no frame is carried out meanwhile. */
  refuseFrames(): void {
    this.framesRefused = true;
  }

  /** Admission priority from the token's tier (1 = first); last of all before hello. */
  get priority(): number {
    return this.actor.getSnapshot().context.priority ?? Number.MAX_SAFE_INTEGER;
  }

  /** Open and sent its welcome: its session exists and the client holds the resume token. */
  get welcomed(): boolean {
    return this.isOpen && this.actor.getSnapshot().value === 'connected';
  }

  /** Send a frame; false when the socket is gone or had to be closed as a slow consumer. */
  send(frame: ServerFrame | string): boolean {
    const socket = this.socket;
    if (!socket) return false;
    if (this.queued || this.batched) this.flushQueued(); // frames go out in the order they were sent
    traffic.framesOutDirect++;
    if (this.write(socket, typeof frame === 'string' ? frame : JSON.stringify(frame)) === SEND_DROPPED) {
      this.close('SLOW_CONSUMER'); // past the edge's own limit: no close frame fits (slow-consumers.ts)
      return false;
    }
    return !this.closeIfSlow();
  }

  /**
   * Send a frame with the others of this event-loop turn, corked (outbox.ts): for frames
   * sent from a Redis callback, where nothing else corks them.
   */
  sendSoon(text: string): void {
    if (!this.socket) return;
    if (this.batched) this.sealBatch(); // keeps the order: the batch's events came first
    this.queuedChars += text.length;
    if (this.queued) this.queued.push(text);
    else {
      this.queued = [text];
      flushSoon(this);
    }
  }

  /**
   * Send a channel event with the others of this turn in one `batch` frame
   * (docs/protocol.md, "Batched delivery"); a lone event goes out as it is.
   */
  sendBatched(text: string): void {
    if (!this.socket) return;
    this.queuedChars += text.length;
    // A batch is no longer than MAX_MESSAGE_BYTES characters (an event longer than that goes
    // alone), so a client whose WebSocket library caps frames, as most do, takes every batch.
    if (this.batched && this.batchedChars + 1 + text.length > this.host.config.maxMessageBytes)
      this.sealBatch();
    if (this.batched) {
      this.batched.push(text);
      this.batchedChars += 1 + text.length; // and its comma
    } else {
      this.batched = [text];
      this.batchedChars = BATCH_ENVELOPE_CHARS + text.length;
      if (!this.queued) flushSoon(this);
    }
  }

  /**
   * An ephemeral event of `channel` (src/core/direct-delivery.ts): sent unless the socket
   * is backed up — past half of MAX_BACKPRESSURE_BYTES with what waits in its buffer and
   * this turn's queue. Then it is merged: held as the channel's newest, replacing (and
   * dropping, counted) the one held before, and sent once the socket drains — so the
   * last state of a typing indicator or a cursor still arrives. An ephemeral event alone
   * never brings a socket to the slow-consumer cut.
   */
  offer(channel: string, text: string, batch: boolean): void {
    if (!this.socket) return;
    if (this.heldEphemeral?.delete(channel)) traffic.ephemeralDropped++; // superseded
    // Sent while this one leaves the socket at most half full.
    if (text.length <= this.room() - this.host.config.maxBackpressureBytes / 2) {
      if (batch) this.sendBatched(text);
      else this.sendSoon(text);
      return;
    }
    this.heldEphemeral ??= new Map();
    this.heldEphemeral.set(channel, { text, batch });
  }

  /** The socket drained: the held ephemeral events go out, the newest per channel. */
  private sendHeldEphemeral(): void {
    const held = this.heldEphemeral;
    this.heldEphemeral = undefined;
    for (const { text, batch } of held?.values() ?? []) {
      if (batch) this.sendBatched(text);
      else this.sendSoon(text);
    }
  }

  /** The batch so far becomes one frame at the end of `queued`. */
  private sealBatch(): void {
    const events = this.batched;
    if (!events) return;
    this.batched = undefined;
    this.batchedChars = 0;
    const frame = events.length === 1 ? (events[0] as string) : batchFrameText(events);
    if (this.queued) this.queued.push(frame);
    else this.queued = [frame];
  }

  flushQueued(): void {
    this.sealBatch();
    const texts = this.queued;
    const socket = this.socket;
    this.queued = undefined;
    this.queuedChars = 0;
    if (!texts || !socket) return;
    traffic.framesOutDirect += texts.length;
    let dropped = false;
    socket.cork(() => {
      for (const text of texts) if (this.write(socket, text) === SEND_DROPPED) dropped = true;
    });
    if (dropped) this.close('SLOW_CONSUMER');
    else this.closeIfSlow();
  }

  private write(socket: EdgeSocket, text: string): number {
    return socket.send(text, false, text.length >= this.compressFrom);
  }

  /** Past MAX_BACKPRESSURE_BYTES unsent: closed with SLOW_CONSUMER (the client resumes from the log). */
  closeIfSlow(): boolean {
    const socket = this.socket;
    if (!socket || socket.getBufferedAmount() <= this.host.config.maxBackpressureBytes) return false;
    this.close('SLOW_CONSUMER');
    return true;
  }

  /** Outbound buffers are low enough to keep sending (true once the socket is gone: nothing to wait for). */
  writable(): boolean {
    const socket = this.socket;
    return !socket || socket.getBufferedAmount() < this.host.config.maxBackpressureBytes * WRITABLE_SHARE;
  }

  /**
   * Bytes the socket can still take before MAX_BACKPRESSURE_BYTES (what waits in this
   * turn's queue counted, as characters); 0 once it is gone.
   */
  room(): number {
    const socket = this.socket;
    if (!socket) return 0;
    return this.host.config.maxBackpressureBytes - socket.getBufferedAmount() - this.queuedChars;
  }

  whenWritable(): Promise<void> {
    if (this.writable()) return Promise.resolve();
    return new Promise((resolve) => {
      this.writableWaiters ??= [];
      this.writableWaiters.push(resolve);
    });
  }

  /**
   * Report a coded error; closes the socket when the registry says so. A frame the
   * client got wrong counts toward its error budget (the actor decides when it is spent);
   * one refused for its timing (NOT_YET) does not: a burst must not end as TOO_MANY_ERRORS.
   */
  fail(code: ErrorCode, extra: ErrorExtra = {}): void {
    this.logger.info({ code, detail: extra.detail, ref: extra.ref }, 'client error');
    this.answerError(code, extra);
  }

  private answerError(code: ErrorCode, extra: ErrorExtra): void {
    const spec = errorSpec(code);
    if (spec.closeCode !== undefined) {
      this.close(code, extra);
      return;
    }
    this.host.errorReported(this, code);
    this.send(errorFrame(code, this.correlationId, extra));
    if ((spec.category === 'client' || spec.category === 'event') && !NOT_YET.has(code))
      this.actor.send({ type: 'frame.rejected', code, at: Date.now() });
  }

  /** Close with a registry code: error frame first, so the client learns why. */
  close(code: ErrorCode, extra: ErrorExtra = {}): void {
    const socket = this.socket;
    if (!socket || this.closingWith) return;
    this.closingWith = code;
    this.host.errorReported(this, code);
    const closeCode = errorSpec(code).closeCode ?? 1011;
    if (code !== 'SLOW_CONSUMER')
      socket.cork(() => this.write(socket, JSON.stringify(errorFrame(code, this.correlationId, extra))));
    // Not inside the cork: ended there, uWS finds bytes buffered, skips its TCP shutdown and
    // holds the socket ~15 s for its close timeout, though the client answered the close at once.
    socket.end(closeCode, code);
  }

  /** A graceful, client-requested end: the session is over. */
  endByClient(): void {
    const socket = this.socket;
    if (!socket || this.closingWith) return;
    this.closingWith = 'bye';
    socket.end(1000, 'bye');
  }

  goLive(channel: string): void {
    this.socket?.subscribe(channelTopic(channel));
  }

  stopLive(channel: string): void {
    this.socket?.unsubscribe(channelTopic(channel));
  }

  /** The edge says the socket drained: wake what waits to write. */
  onDrain(): void {
    if (!this.socket || !this.writable()) return;
    if (this.heldEphemeral) this.sendHeldEphemeral();
    const waiters = this.writableWaiters;
    this.writableWaiters = undefined;
    for (const resolve of waiters ?? []) resolve();
  }

  /**
   * The socket is gone (any reason): release what it held, then tell its actor.
   * `edgeReason`: a protocol rule the edge itself cut the socket for (no frame could say so).
   */
  onClose(closeCode: number, edgeReason?: ErrorCode): void {
    this.socket = undefined;
    const waiters = this.writableWaiters;
    this.writableWaiters = undefined;
    for (const resolve of waiters ?? []) resolve();
    if (edgeReason && !this.closingWith) {
      this.closingWith = edgeReason;
      this.logger.info({ code: edgeReason, closeCode }, 'client error (the edge cut the socket)');
      this.host.errorReported(this, edgeReason);
    }
    const reason = this.closingWith;
    this.host.socketClosed(this, closeCode, reason);
    // An actor that already ended (a refused hello closes the socket from `failed`) hears nothing.
    if (this.actor.getSnapshot().status === 'active')
      this.actor.send({ type: 'transport.closed', connectionId: this.id, closeCode, reason });
    this.logger.debug({ closeCode, reason }, 'socket closed'); // no pino child below the level (logger.ts)
    this.trace.closed(closeCode, reason); // after the actor moved, so its transition is in the trace
  }

  /** false when the connection is over its inbound frame rate (the frame is not processed). */
  takeMessageToken(): boolean {
    return this.messageRate.take(Date.now());
  }

  /**
   * A frame over the rate: answered MESSAGE_RATE_LIMITED with its ref and when to send it
   * again; the first refusal of a minute is logged, the rest counted. A flood (message-rate.ts)
   * is closed with TOO_MANY_ERRORS instead.
   */
  refuseForRate(ref: string | undefined): void {
    const now = Date.now();
    const refusal = this.messageRate.refuse(now);
    if (refusal === 'flood') {
      this.fail('TOO_MANY_ERRORS', { detail: 'kept sending while refused for rate' });
      return;
    }
    const extra = { ref, retryAfterMs: jitteredAtLeast(this.messageRate.msUntilTurn(now)) };
    if (refusal === 'first')
      this.logger.info(
        { code: 'MESSAGE_RATE_LIMITED' },
        'client error (further refusals this minute are counted, not logged)',
      );
    this.answerError('MESSAGE_RATE_LIMITED', extra);
  }

  /**
   * A ping or pong over the rate: counted as a refusal like a frame's, but not answered (no ref
   * to send again; an error frame per ping would double what a flood gets back). The first of
   * a minute is logged, each one counted (`tether_errors_total`, the `messages` limit's hits) as
   * a frame's is; a flood is closed with TOO_MANY_ERRORS, as one of frames is.
   */
  refuseControlForRate(kind: 'ping' | 'pong'): void {
    const refusal = this.messageRate.refuse(Date.now());
    if (refusal === 'flood') {
      this.fail('TOO_MANY_ERRORS', { detail: `kept sending ${kind} frames while refused for rate` });
      return;
    }
    this.host.errorReported(this, 'MESSAGE_RATE_LIMITED');
    if (refusal === 'first')
      this.logger.info(
        { code: 'MESSAGE_RATE_LIMITED', frame: kind },
        'client error (a control frame over the rate; further refusals this minute are counted, not logged)',
      );
  }
}
