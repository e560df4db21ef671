/**
 * The Tether client: machines/client.machine.ts decides (connect, back off, give
 * up); this runtime does (sockets, frames, promises) and tells the application
 * through a typed emitter. Resumes a dropped session with the last event ID of
 * every channel, drops duplicates, says when a gap could not be recovered, and
 * holds publishes and actions made while offline until the connection returns.
 *
 * @example
 * import WebSocket from 'ws'; // browsers: omit, the global WebSocket is used
 * const client = new TetherClient({ url: 'ws://localhost:8080/ws', getToken: fetchToken, WebSocket });
 * client.on('event', (e) => console.log(e.channel, e.id, e.data));
 * client.on('state', ({ newState, error }) => console.log(newState, error?.recovery ?? ''));
 * client.connect();
 * await client.subscribe('room:1');
 * const { id } = await client.publish('room:1', { text: 'hi' });
 */
import { type Actor, createActor } from 'xstate';
import { ChannelPositions } from './channel-positions.ts';
import type { ClientEvents, PublishAck } from './client-events.ts';
import { type ResolvedOptions, resolveOptions, type TetherClientOptions } from './client-options.ts';
import { type DiagnosticReport, diagnose } from './diagnose.ts';
import { FrameRouter } from './frame-router.ts';
import { isOnline, watchNetwork } from './network-watch.ts';
import { OfflineQueue } from './offline-queue.ts';
import { type PendingRequest, type RequestFrame, RequestRegistry } from './request-registry.ts';
import type { ChannelResume } from './shared.ts';
import { CHANNEL_PATTERN, type ClientFailure, type ClientStateName, clientMachine } from './shared.ts';
import { SocketLink } from './socket-link.ts';
import { StateReporter } from './state-reporter.ts';
import { TetherClientError } from './tether-client-error.ts';
import { TypedEmitter } from './typed-emitter.ts';

export class TetherClient extends TypedEmitter<ClientEvents> {
  readonly options: ResolvedOptions;
  private readonly actor: Actor<typeof clientMachine>;
  /** Each connection attempt carries the token fetched for it. */
  private readonly link: SocketLink<string | undefined>;
  private readonly router: FrameRouter;
  private readonly requests = new RequestRegistry();
  private readonly outbox: OfflineQueue<PendingRequest>;
  readonly positions = new ChannelPositions();
  private readonly reporter = new StateReporter();
  private unwatch: (() => void) | undefined;

  constructor(options: TetherClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.outbox = new OfflineQueue(this.options.offlineQueueSize);
    this.link = new SocketLink(this.options.url, this.options.WebSocket, {
      opened: (token) => this.link.send(this.router.hello(token)),
      text: (text) => this.router.handle(text),
      closed: (code, reason) => this.lose(this.router.closeError(code, reason)),
      failed: (error) =>
        this.lose(
          error instanceof TetherClientError
            ? error
            : new TetherClientError('CONNECTION_LOST', { cause: error, detail: String(error) }),
        ),
    });
    this.router = new FrameRouter(this.options, this.link, this.requests, this.positions, {
      emit: (type, payload) => this.emit(type, payload as never),
      welcomed: (sessionId) => this.actor.send({ type: 'socket.welcomed', sessionId }),
      queued: (position, estimatedWaitMs) =>
        this.actor.send({ type: 'socket.queued', position, estimatedWaitMs }),
      pong: () => this.actor.send({ type: 'heartbeat.pong' }),
    });
    const o = this.options;
    this.actor = createActor(
      clientMachine.provide({
        actions: {
          openSocket: () => this.openSocket(),
          closeSocket: (_, { graceful }) => this.closeSocket(graceful),
          sendPing: () => this.link.send({ type: 'ping', ts: Date.now() }),
          flushOutbox: () => {
            for (const request of this.outbox.drain()) this.transmit(request);
          },
          abandonOutbox: ({ context }, { fatal }) => {
            this.outbox.drain();
            this.requests.rejectAll(
              (fatal && this.reporter.errorFor(context)) || new TetherClientError('CLIENT_CLOSED'),
            );
          },
        },
      }),
      {
        input: {
          maxAttempts: o.maxReconnectAttempts,
          backoffBaseMs: o.backoffBaseMs,
          backoffMaxMs: o.backoffMaxMs,
          connectTimeoutMs: o.connectTimeoutMs,
          queueTimeoutMs: o.queueTimeoutMs,
          pingIntervalMs: o.pingIntervalMs,
          pongTimeoutMs: o.pongTimeoutMs,
          random: o.random,
        },
      },
    );
    this.actor.subscribe((snapshot) => {
      const change = this.reporter.next(snapshot);
      if (!change) return;
      this.emit('state', change);
      if (change.error) this.emit('error', change.error);
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
  get detailedState(): unknown {
    return this.actor.getSnapshot().value;
  }

  get sessionId(): string | undefined {
    return this.router.session?.sessionId;
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
    return this.outbox.size;
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
    if (this.state === 'failed' || this.state === 'closed') return Promise.reject(this.endError());
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
   * Receive the channel's events, now and after every reconnect (resumed from the
   * last event seen). Resolves when the gateway confirms — on this connection or,
   * when not connected, the next one; `recovered: false` means events between the
   * last one seen and now were trimmed from retention.
   */
  subscribe(channel: string): Promise<ChannelResume> {
    if (!new RegExp(CHANNEL_PATTERN).test(channel)) {
      return Promise.reject(new TypeError(`not a channel name: ${JSON.stringify(channel)}`));
    }
    return this.router.subscribe(channel, this.isConnected());
  }

  /** Stop receiving the channel (now and after reconnects). */
  unsubscribe(channel: string): void {
    this.router.unsubscribe(channel, this.isConnected());
  }

  /** Append `data` to the channel's log; resolves with its event ID once stored. */
  publish(channel: string, data: unknown): Promise<PublishAck> {
    return this.request<PublishAck>({ type: 'publish', ref: this.requests.nextRef(), channel, data });
  }

  /** Run a backend action; resolves with the worker's result, rejects with its coded error. */
  action<T = unknown>(name: string, data?: unknown): Promise<T> {
    return this.request<T>({ type: 'action', ref: this.requests.nextRef(), name, data });
  }

  /** Check reachability, upgrade, auth, latency and clock skew with a separate probe connection. */
  diagnose(): Promise<DiagnosticReport> {
    return diagnose(this.options, () => this.fetchToken(), {
      state: this.state,
      lastError: this.reporter.errorFor(this.actor.getSnapshot().context),
    });
  }

  private request<T>(frame: RequestFrame & { ref: string }): Promise<T> {
    if (this.state === 'failed' || this.state === 'closed') return Promise.reject(this.endError());
    const tooLarge = this.router.sizeError(frame);
    if (tooLarge) return Promise.reject(tooLarge);
    const { request, promise } = this.requests.create<T>(frame);
    if (this.isConnected()) this.transmit(request);
    else {
      try {
        this.outbox.push(request);
      } catch (error) {
        this.requests.reject(request.ref, error);
        if (error instanceof TetherClientError) this.emit('error', error);
      }
    }
    return promise;
  }

  /** Why nothing can be sent now: the failure, or CLIENT_CLOSED after disconnect(). */
  private endError(): TetherClientError {
    return (
      (this.state === 'failed' && this.reporter.errorFor(this.actor.getSnapshot().context)) ||
      new TetherClientError('CLIENT_CLOSED')
    );
  }

  private transmit(request: PendingRequest): void {
    const timeout =
      request.frame.type === 'action' ? this.options.actionTimeoutMs : this.options.publishTimeoutMs;
    this.requests.markSent(request, this.router.session?.sessionId, timeout);
    this.link.send(request.frame);
  }

  private isConnected(): boolean {
    return this.actor.getSnapshot().matches('connected') && this.link.isOpen;
  }

  private async fetchToken(): Promise<string | undefined> {
    if (!this.options.getToken) return this.options.token;
    try {
      const token = await this.options.getToken();
      if (!token) throw new Error('getToken() returned no token');
      return token;
    } catch (error) {
      // A coded error from the hook is the application's verdict (e.g. not retryable): keep it.
      if (error instanceof TetherClientError) throw error;
      throw new TetherClientError('TOKEN_UNAVAILABLE', { cause: error, detail: (error as Error).message });
    }
  }

  private openSocket(): void {
    if (this.options.networkAware && !isOnline()) {
      queueMicrotask(() => this.actor.send({ type: 'network.offline' }));
      return;
    }
    this.router.beginConnection();
    this.link.open(() => this.fetchToken());
  }

  private closeSocket(graceful: boolean): void {
    this.link.close(graceful);
    this.router.connectionLost();
  }

  /** The socket is gone: settle what cannot be answered now, and let the machine decide. */
  private lose(error: TetherClientError): void {
    this.reporter.lastSocketError = error;
    this.router.connectionLost();
    const failure: ClientFailure = { code: error.code, retryable: error.retryable };
    if (error.retryAfterMs !== undefined) {
      failure.retryAfterMs = error.retryAfterMs;
      failure.retryAfterFromServer = error.retryAfterFromServer;
    }
    this.actor.send({ type: 'socket.closed', failure });
  }
}
