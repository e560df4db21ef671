/**
 * The Tether client: machines/client.machine.ts decides (connect, back off, give
 * up); this runtime does (sockets, frames, promises) and tells the application
 * through a typed emitter. Resumes a dropped session with the last event ID of
 * every channel, drops duplicates, says when a gap could not be recovered, and
 * holds publishes and actions made while offline until the connection returns.
 *
 * @example
 * const client = new TetherClient({ url: 'ws://localhost:8080/ws', getToken: fetchToken });
 * client.on('state', ({ newState, error }) => console.log(newState, error?.recovery ?? ''));
 * client.connect();
 * const room = client.subscribe('room:1');
 * room.on('publication', (e) => console.log(e.id, e.data));
 * const { id } = await client.publish('room:1', { text: 'hi' });
 */
import { type Actor, createActor, fromPromise } from 'xstate';
import { ChannelPositions } from './channel-positions.ts';
import type { ClientEvents, DetailedState, PublishAck, PublishOptions } from './client-events.ts';
import {
  machineInput,
  type ResolvedOptions,
  resolveOptions,
  type TetherClientOptions,
} from './client-options.ts';
import { type ClientStats, clientStats } from './client-stats.ts';
import { type DiagnosticReport, diagnose } from './diagnose.ts';
import { FrameRouter } from './frame-router.ts';
import { type HistoryOptions, type HistoryPage, historyFrame } from './history.ts';
import { isOnline, watchNetwork } from './network-watch.ts';
import { OfflineQueue } from './offline-queue.ts';
import { Outbox } from './outbox.ts';
import { probeReadiness } from './readiness-probe.ts';
import { type RequestFrame, RequestRegistry } from './request-registry.ts';
import {
  CHANNEL_PATTERN,
  type ClientFailure,
  type ClientStateName,
  clientMachine,
  MAX_HISTORY_LIMIT,
  PRESENCE_PAGE_MAX,
  type PublishFrame,
} from './shared.ts';
import { SocketLink } from './socket-link.ts';
import { StateReporter } from './state-reporter.ts';
import type { PresencePage, SubscribeOptions, Subscription } from './subscription.ts';
import { SubscriptionSet } from './subscription-set.ts';
import { TetherClientError } from './tether-client-error.ts';
import { fetchToken } from './token-source.ts';
import { TransportChoice, type TransportName } from './transport-choice.ts';
import { TypedEmitter } from './typed-emitter.ts';

export class TetherClient extends TypedEmitter<ClientEvents> {
  readonly options: ResolvedOptions;
  private readonly actor: Actor<typeof clientMachine>;
  /** Each socket carries the token fetched for it. */
  private readonly link: SocketLink<string | undefined>;
  private readonly router: FrameRouter;
  private readonly requests = new RequestRegistry();
  private readonly outbox: Outbox;
  private readonly subscriptionSet: SubscriptionSet;
  readonly positions = new ChannelPositions();
  private readonly reporter = new StateReporter();
  private unwatch: (() => void) | undefined;
  private connectedAt: number | undefined;

  constructor(options: TetherClientOptions) {
    super();
    this.options = resolveOptions(options);
    const o = this.options;
    this.outbox = new Outbox({
      requests: this.requests,
      queue: new OfflineQueue(o.offlineQueueSize),
      send: (frame) => this.link.send(frame),
      refusal: (frame) => this.router.sizeError(frame),
      sessionId: () => this.router.session?.sessionId,
      timeoutMs: (frame) => (frame.type === 'action' ? o.actionTimeoutMs : o.publishTimeoutMs),
      idempotencyWindowMs: o.idempotencyWindowMs,
      overflowed: (error) => this.emit('error', error),
    });
    this.link = new SocketLink(
      { url: o.url, sseUrl: o.sseUrl, upgradeTimeoutMs: o.upgradeTimeoutMs },
      o.WebSocket,
      new TransportChoice(o.transport, o.transportMemoryMs),
      {
        opened: (token) => this.link.send(this.router.hello(token)),
        text: (text) => this.router.handle(text),
        closed: (code, reason, wasOpen) =>
          this.lose(
            wasOpen || code !== 1006
              ? this.router.closeError(code, reason)
              : new TetherClientError('GATEWAY_UNREACHABLE', { closeCode: code, detail: o.url }),
          ),
        failed: (error) =>
          this.lose(
            error instanceof TetherClientError
              ? error
              : new TetherClientError('CONNECTION_LOST', { cause: error, detail: String(error) }),
          ),
      },
    );
    this.subscriptionSet = new SubscriptionSet({
      link: this.link,
      positions: this.positions,
      nextRef: () => this.requests.nextRef(),
      isConnected: () => this.isConnected(),
      emit: (type, payload) => this.emit(type, payload as never),
      random: o.random,
      history: (channel, options) => this.history(channel, options),
      presence: (channel, page) => {
        checkLimit('presence', page.limit, 0, PRESENCE_PAGE_MAX);
        return this.request<PresencePage>({
          type: 'presence',
          ref: this.requests.nextRef(),
          channel,
          ...page,
        });
      },
      clientEnded: () => this.endedWith(),
    });
    this.router = new FrameRouter(o, this.requests, this.positions, this.subscriptionSet, {
      emit: (type, payload) => this.emit(type, payload as never),
      welcomed: (sessionId, tokenExpiresInMs) =>
        this.actor.send({ type: 'socket.welcomed', sessionId, tokenExpiresInMs }),
      refreshed: (tokenExpiresInMs) => this.actor.send({ type: 'token.refreshed', tokenExpiresInMs }),
      refreshFailed: (error) => {
        this.refreshVerdict(error);
        this.actor.send({
          type: 'token.refreshFailed',
          failure: { code: error.code, retryable: error.retryable },
        });
      },
      helloRefused: (error) => {
        this.link.close(false);
        this.lose(error);
      },
      queued: (position, estimatedWaitMs) =>
        this.actor.send({ type: 'socket.queued', position, estimatedWaitMs }),
      pong: () => this.actor.send({ type: 'heartbeat.pong' }),
    });
    this.actor = createActor(
      clientMachine.provide({
        actors: {
          fetchToken: fromPromise(() => {
            this.reporter.lastSocketError = undefined; // a new attempt: what ended the last one is history
            return fetchToken(o).catch((error: TetherClientError) => {
              this.reporter.lastSocketError = error;
              throw error;
            });
          }),
          renewToken: fromPromise(() =>
            fetchToken(o).catch((error: TetherClientError) => {
              this.refreshVerdict(error);
              throw error;
            }),
          ),
          probeGateway: fromPromise(() => probeReadiness(o.httpUrl, o.connectTimeoutMs)),
        },
        actions: {
          openSocket: (_, { token }) => this.openSocket(token),
          closeSocket: (_, { graceful }) => this.closeSocket(graceful),
          sendPing: () => this.link.send({ type: 'ping', ts: Date.now() }),
          sendRefresh: (_, { token }) => this.router.refresh(token, (frame) => this.link.send(frame)),
          flushOutbox: () => {
            this.connectedAt = Date.now();
            this.outbox.flush();
          },
          abandonOutbox: ({ context }, { fatal }) => {
            const error =
              (fatal && this.reporter.errorFor(context)) || new TetherClientError('CLIENT_CLOSED');
            this.outbox.abandon(error);
            this.subscriptionSet.rejectWaiters(error);
          },
        },
      }),
      {
        input: {
          ...machineInput(o),
          lineActivity: () => this.link.activity,
          isOnline: o.networkAware ? isOnline : undefined,
        },
      },
    );
    this.actor.subscribe((snapshot) => {
      const change = this.reporter.next(snapshot);
      if (!change) return;
      if (change.oldState === 'connected') this.connectedAt = undefined;
      this.emit('state', change);
      const error = this.reporter.errorToAnnounce(change);
      if (error) this.emit('error', error);
    });
    this.actor.start();
  }

  /** The top-level state: idle, connecting, connected, reconnecting, failed or closed. */
  get state(): ClientStateName {
    return this.reporter.current;
  }

  /** When the pending reconnect starts (ms since the epoch); undefined unless waiting to reconnect. */
  get retryAt(): number | undefined {
    return this.reporter.retryAt;
  }

  /** The machine's full state value, e.g. `{ connecting: 'queued' }` or `{ reconnecting: 'offline' }`. */
  get detailedState(): DetailedState {
    return this.actor.getSnapshot().value;
  }

  get sessionId(): string | undefined {
    return this.router.session?.sessionId;
  }

  /** The transport of the open socket: `websocket`, or `sse` (the fallback); undefined when none is open. */
  get transport(): TransportName | undefined {
    return this.link.transport;
  }

  /**
   * The gateway's correlation ID for this session (from `welcome`): on its log lines, spans and
   * error frames, and kept across resumes. Quote it in bug reports.
   */
  get correlationId(): string | undefined {
    return this.router.welcome?.correlationId;
  }

  /** Latest heartbeat round trip and estimated server-minus-client clock offset, ms. */
  get latency(): { rttMs?: number; clockSkewMs?: number } {
    return { ...this.router.latency };
  }

  /** Publishes and actions waiting for the connection. */
  get queuedCount(): number {
    return this.outbox.queued;
  }

  /** Start connecting (from idle, failed or closed), or retry now (from reconnecting). */
  connect(): void {
    if (this.options.networkAware && !this.unwatch) {
      this.unwatch = watchNetwork({
        online: () => this.actor.send({ type: 'network.online' }),
        offline: () => this.actor.send({ type: 'network.offline' }),
        visible: () => this.actor.send({ type: 'page.visible' }),
      });
    }
    this.actor.send({ type: 'client.connect' });
  }

  /**
   * Stop: pending and queued requests are rejected with CLIENT_CLOSED, and the SDK forgets the
   * session, so a later `connect()` starts a new one. When connected, `bye` tells the gateway to
   * end the session at once; otherwise (reconnecting, offline, still connecting) there may be no
   * socket to say it on, and the gateway ends the session when its resume window runs out.
   */
  disconnect(): void {
    this.actor.send({ type: 'client.disconnect' });
    this.router.endSession();
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Resolves once connected; rejects when the client fails or is closed first. */
  ready(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    const ended = this.endedWith();
    if (ended) return Promise.reject(ended);
    return new Promise((resolve, reject) => {
      const off = this.on('state', ({ newState, error }) => {
        if (newState === 'connected') resolve();
        else if (newState === 'failed') reject(error);
        else if (newState === 'closed') reject(new TetherClientError('CLIENT_CLOSED'));
        else return;
        off();
      });
    });
  }

  /**
   * The channel's subscription: a new one, or the active one for this channel. It receives the
   * channel's events now and after every reconnect (resumed from the last event delivered), has
   * its own `state`, `position` and events (`publication`, `recovered`, `error`), and
   * `ready()` resolves once the gateway confirms it.
   * @throws TypeError when `channel` is not a channel name.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): Subscription {
    if (!new RegExp(CHANNEL_PATTERN).test(channel))
      throw new TypeError(`not a channel name: ${JSON.stringify(channel)}`);
    return this.subscriptionSet.subscribe(channel, options);
  }

  /** The active subscription of `channel`, if any. */
  getSubscription(channel: string): Subscription | undefined {
    return this.subscriptionSet.get(channel);
  }

  /** Every active subscription. */
  get subscriptions(): Subscription[] {
    return this.subscriptionSet.all();
  }

  /** Stop receiving the channel (now and after reconnects): `subscription.unsubscribe()`. */
  unsubscribe(channel: string): void {
    this.subscriptionSet.get(channel)?.unsubscribe();
  }

  /** The connection in one call: state, attempts, heartbeat, health, queues, positions, uptime. */
  stats(): ClientStats {
    const snapshot = this.actor.getSnapshot();
    return clientStats({
      state: this.state,
      snapshot,
      latency: this.router.latency,
      heardAt: this.link.activity.heardAt || undefined,
      connectedAt: this.connectedAt,
      queued: this.outbox.queued,
      inFlight: this.requests.inFlight,
      subscriptions: this.subscriptionSet.all(),
      welcomes: this.router.welcomes,
      duplicatesDropped: this.positions.duplicates,
      retryAt: this.retryAt,
      sessionId: this.sessionId,
      correlationId: this.correlationId,
      transport: this.transport,
      lastError: this.reporter.errorFor(snapshot.context),
    });
  }

  /**
   * Append `data` to the channel's log; resolves with its event ID once stored. With an
   * `idempotencyKey`, publishing again with the same key (after DELIVERY_UNCONFIRMED or
   * REQUEST_TIMEOUT) stores it once: the ack carries the first one's ID and `duplicate: true`.
   * @throws TypeError when `channel` is not a channel name, or `data` is not JSON (a BigInt, a cycle).
   */
  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishAck> {
    if (!new RegExp(CHANNEL_PATTERN).test(channel))
      throw new TypeError(`not a channel name: ${JSON.stringify(channel)}`);
    const frame: PublishFrame & { ref: string } = {
      type: 'publish',
      ref: this.requests.nextRef(),
      channel,
      data,
    };
    if (options.idempotencyKey !== undefined) frame.idempotencyKey = options.idempotencyKey;
    return this.request<PublishAck>(frame);
  }

  /**
   * A page of the channel's log, without subscribing: sent at once when connected, else
   * when the connection returns. Rejects with the gateway's code (FORBIDDEN_CHANNEL,
   * REPLAY_DISABLED), or CONNECTION_LOST when the socket went before the page came.
   * @throws TypeError when `channel` is not a channel name.
   */
  history(channel: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    if (!new RegExp(CHANNEL_PATTERN).test(channel))
      throw new TypeError(`not a channel name: ${JSON.stringify(channel)}`);
    checkLimit('history', options.limit, 1, MAX_HISTORY_LIMIT);
    return this.request<HistoryPage>(historyFrame(this.requests.nextRef(), channel, options));
  }

  /**
   * Run a backend action; resolves with the worker's result, rejects with its coded error.
   * @throws TypeError when `data` is not JSON (a BigInt, a cycle).
   */
  action<T = unknown>(name: string, data?: unknown): Promise<T> {
    return this.request<T>({ type: 'action', ref: this.requests.nextRef(), name, data });
  }

  /** Check reachability, upgrade, auth, latency and clock skew with a separate probe connection. */
  diagnose(): Promise<DiagnosticReport> {
    return diagnose(this.options, () => this.tokenForProbe(), {
      state: this.state,
      lastError: this.reporter.errorFor(this.actor.getSnapshot().context),
    });
  }

  /** diagnose()'s token: the same source, without touching the connection's bookkeeping. */
  private async tokenForProbe(): Promise<string | undefined> {
    if (!this.options.getToken) return this.options.token;
    return this.options.getToken();
  }

  /**
   * Data that cannot be sent is refused here, at the call, whenever it is made: not JSON
   * (TypeError, thrown), or over the gateway's limit once `welcome` told it (MESSAGE_TOO_LARGE;
   * a request queued before any `welcome` is measured when it is about to go out).
   */
  private request<T>(frame: RequestFrame & { ref: string }): Promise<T> {
    const text = JSON.stringify(frame); // throws on a BigInt or a cycle, before anything is queued
    const ended = this.endedWith();
    if (ended) return Promise.reject(ended);
    const tooLarge = this.router.sizeError(frame, text);
    if (tooLarge) return Promise.reject(tooLarge);
    return this.outbox.submit<T>(frame, this.isConnected());
  }

  /** The outbox stops first, so that nothing it holds goes out on no socket. */
  private socketGone(): void {
    this.outbox.stop();
    this.router.connectionLost();
  }

  /**
   * A refresh that failed for good — getToken()'s own verdict (the app's "logged out"), or the
   * gateway's answer — is told at once: the connection otherwise goes on until the token's `exp`.
   */
  private refreshVerdict(error: TetherClientError): void {
    if (!error.retryable) this.emit('error', error);
  }

  /** Why nothing can be sent now — the failure, or CLIENT_CLOSED after disconnect() — else undefined. */
  private endedWith(): TetherClientError | undefined {
    if (this.state === 'failed')
      return (
        this.reporter.errorFor(this.actor.getSnapshot().context) || new TetherClientError('CLIENT_CLOSED')
      );
    return this.state === 'closed' ? new TetherClientError('CLIENT_CLOSED') : undefined;
  }

  private isConnected(): boolean {
    return this.actor.getSnapshot().matches('connected') && this.link.isOpen;
  }

  /** Only with a network: the machine checked (`networkDown`) before asking for this. */
  private openSocket(token: string | undefined): void {
    this.router.beginConnection();
    this.link.open(token);
  }

  private closeSocket(graceful: boolean): void {
    this.link.close(graceful);
    this.socketGone();
  }

  /** The socket is gone: settle what cannot be answered now, and let the machine decide. */
  private lose(error: TetherClientError): void {
    this.reporter.lastSocketError = error;
    this.socketGone();
    const failure: ClientFailure = { code: error.code, retryable: error.retryable };
    if (error.retryAfterMs !== undefined) {
      failure.retryAfterMs = error.retryAfterMs;
      failure.retryAfterFromServer = error.retryAfterFromServer;
    }
    this.actor.send({ type: 'socket.closed', failure });
  }
}

/**
 * A page size the gateway would refuse is the caller's mistake, told here (TypeError) rather
 * than by a MALFORMED_MESSAGE that also counts against the connection's error budget.
 */
function checkLimit(what: string, limit: number | undefined, min: number, max: number): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= min && limit <= max))
    throw new TypeError(`${what} limit must be an integer from ${min} to ${max}, got ${limit}`);
}
