/**
 * The session as the client keeps it — session ID and resume token, wanted
 * channels, what the gateway has confirmed on this connection — and the handling
 * of every frame the gateway sends. Builds `hello` (with resume and last event
 * IDs), re-subscribes what a new session lacks, settles requests by ref.
 */

import type { ChannelPositions } from './channel-positions.ts';
import { classifyClose } from './classify-close.ts';
import type { ClientEvents } from './client-events.ts';
import type { ResolvedOptions } from './client-options.ts';
import type { RequestFrame, RequestRegistry } from './request-registry.ts';
import { roundTrip } from './round-trip.ts';
import type {
  ChannelResume,
  ErrorFrame,
  HelloFrame,
  ReplyFrame,
  ServerFrame,
  SubscribedFrame,
  WelcomeFrame,
} from './shared.ts';
import { errorSpec, INBOX_PREFIX, inboxChannel, isErrorCode } from './shared.ts';
import type { SocketLink } from './socket-link.ts';
import { TetherClientError } from './tether-client-error.ts';

export const SDK_VERSION = '0.1.0';

export interface RouterHooks {
  emit<K extends keyof ClientEvents>(type: K, payload: ClientEvents[K]): void;
  welcomed(sessionId: string): void;
  queued(position: number, estimatedWaitMs: number): void;
  pong(): void;
}

const isInbox = (channel: string) => channel.startsWith(INBOX_PREFIX);

export class FrameRouter {
  session: { sessionId: string; resumeToken: string } | undefined;
  welcome: WelcomeFrame | undefined;
  readonly latency: { rttMs?: number; clockSkewMs?: number } = {};
  /** Channels the application wants, across reconnects. */
  private readonly channels = new Set<string>();
  /** Channels the gateway confirmed on the current connection. */
  private readonly confirmed = new Map<string, ChannelResume>();
  /** Our subscribe refs → channel and the position we asked to resume from. */
  private readonly subscribeRefs = new Map<string, { channel: string; from?: string }>();
  /**
   * Channels whose `subscribed` frame is due on this connection: a subscribe we sent, or a
   * channel the gateway is resuming. A refused subscribe leaves this set, not `channels`, so
   * subscribing again sends a new one.
   */
  private readonly inFlight = new Set<string>();
  /** An error frame announcing the close that follows it. */
  private closingError: ErrorFrame | undefined;
  private resumeError: TetherClientError | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly link: Pick<SocketLink<unknown>, 'send'>,
    private readonly requests: RequestRegistry,
    private readonly positions: ChannelPositions,
    private readonly hooks: RouterHooks,
  ) {}

  hello(token: string | undefined): HelloFrame {
    const frame: HelloFrame = {
      type: 'hello',
      client: { name: this.options.clientName, version: SDK_VERSION },
    };
    if (token) frame.token = token;
    const session = this.session;
    // Resuming: echo the session's correlation ID, so one session keeps one ID across reconnects.
    const correlationId = (session && this.welcome?.correlationId) || this.options.correlationId;
    if (correlationId) frame.correlationId = correlationId;
    if (session) {
      const inbox = inboxChannel(session.sessionId);
      frame.resume = {
        ...session,
        lastEventIds: this.positions.toRecord((c) => this.channels.has(c) || c === inbox),
      };
    }
    return frame;
  }

  beginConnection(): void {
    this.closingError = undefined;
    this.confirmed.clear();
    this.inFlight.clear();
  }

  /** The socket is gone: a sent publish may or may not have been stored — say so. */
  connectionLost(): void {
    this.confirmed.clear();
    this.subscribeRefs.clear(); // nothing answers them now; wanted channels are re-sent on welcome
    this.inFlight.clear();
    this.requests.rejectWhere(
      (r) => r.frame.type === 'publish' && r.sent === true,
      (r) =>
        new TetherClientError('DELIVERY_UNCONFIRMED', {
          ref: r.ref,
          detail: r.frame.type === 'publish' ? r.frame.channel : undefined,
        }),
    );
  }

  /** After `disconnect()`: the gateway ended the session, a later connect starts a new one. */
  endSession(): void {
    this.session = undefined;
  }

  closeError(code: number, reason: string): TetherClientError {
    return classifyClose(code, reason, this.closingError);
  }

  /** MESSAGE_TOO_LARGE before sending, rather than a close by the gateway after. */
  sizeError(frame: RequestFrame): TetherClientError | undefined {
    const limit = this.welcome?.maxMessageBytes;
    if (limit === undefined) return undefined;
    const bytes = new TextEncoder().encode(JSON.stringify(frame)).length;
    if (bytes <= limit) return undefined;
    return new TetherClientError('MESSAGE_TOO_LARGE', {
      ref: frame.ref,
      detail: `${bytes} > ${limit} bytes`,
    });
  }

  subscribe(channel: string, connected: boolean): Promise<ChannelResume> {
    const known = this.confirmed.get(channel);
    if (known && this.channels.has(channel)) return Promise.resolve(known);
    this.channels.add(channel);
    const promise = this.requests.waitForChannel<ChannelResume>(channel);
    // Not yet confirmed here: ask, unless an answer is already on its way.
    if (connected && !this.inFlight.has(channel)) this.sendSubscribe(channel);
    return promise;
  }

  unsubscribe(channel: string, connected: boolean): void {
    if (!this.channels.delete(channel)) return;
    this.confirmed.delete(channel);
    this.inFlight.delete(channel);
    this.positions.forget(channel);
    this.requests.settleChannel(channel, {
      error: new TetherClientError('CLIENT_CLOSED', { detail: `unsubscribed from ${channel}` }),
    });
    if (connected) this.link.send({ type: 'unsubscribe', channel });
  }

  handle(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return; // not ours to judge; the gateway only sends JSON
    }
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'queued':
        this.hooks.emit('queued', { position: frame.position, estimatedWaitMs: frame.estimatedWaitMs });
        this.hooks.queued(frame.position, frame.estimatedWaitMs);
        return;
      case 'event':
        if (this.channels.has(frame.channel) && this.positions.accept(frame.channel, frame.id)) {
          this.hooks.emit('event', { channel: frame.channel, id: frame.id, ts: frame.ts, data: frame.data });
        }
        return;
      case 'reply':
        this.onReply(frame);
        return;
      case 'ack':
        if (frame.ref) this.requests.resolve(frame.ref, { channel: frame.channel, id: frame.id });
        return;
      case 'subscribed':
        this.onSubscribed(frame);
        return;
      case 'pong':
        if (frame.ts !== undefined) Object.assign(this.latency, roundTrip(frame.ts, frame.serverTime));
        this.hooks.pong();
        return;
      case 'error':
        this.onError(frame);
        return;
      default:
        return; // unsubscribed, and frame types newer than this SDK
    }
  }

  private onWelcome(frame: WelcomeFrame): void {
    if (this.session && !frame.resumed) {
      // A new session: the old inbox is out of reach, so replies to sent actions will not come.
      const error = this.resumeError ?? new TetherClientError('RESUME_EXPIRED');
      this.requests.rejectWhere(
        (r) => r.frame.type === 'action' && r.sent === true,
        (r) => new TetherClientError(error.code, { ref: r.ref, detail: error.detail, cause: error }),
      );
      for (const channel of Object.keys(this.positions.toRecord(isInbox))) this.positions.forget(channel);
    }
    this.resumeError = undefined;
    this.session = { sessionId: frame.sessionId, resumeToken: frame.resumeToken };
    this.welcome = frame;
    const resumed = new Set(frame.channels.map((c) => c.channel));
    for (const channel of resumed) {
      if (isInbox(channel)) continue;
      if (this.channels.has(channel))
        this.inFlight.add(channel); // its `subscribed` follows, without a ref
      else this.link.send({ type: 'unsubscribe', channel });
    }
    for (const channel of this.channels) if (!resumed.has(channel)) this.sendSubscribe(channel);
    this.hooks.welcomed(frame.sessionId);
    if (frame.resumed) {
      const channels = frame.channels.filter((c) => !isInbox(c.channel));
      this.hooks.emit('recovered', {
        resumed: true,
        recovered: channels.every((c) => c.recovered),
        channels,
      });
    }
  }

  private sendSubscribe(channel: string): void {
    const ref = this.requests.nextRef();
    const from = this.positions.get(channel);
    this.subscribeRefs.set(ref, from === undefined ? { channel } : { channel, from });
    this.inFlight.add(channel);
    this.link.send(
      from === undefined ? { type: 'subscribe', ref, channel } : { type: 'subscribe', ref, channel, from },
    );
  }

  private onSubscribed(frame: SubscribedFrame): void {
    const sent = frame.ref === undefined ? undefined : this.subscribeRefs.get(frame.ref);
    if (frame.ref !== undefined) this.subscribeRefs.delete(frame.ref);
    this.inFlight.delete(frame.channel);
    if (!this.channels.has(frame.channel)) return; // the inbox, or unsubscribed meanwhile
    const info: ChannelResume = { channel: frame.channel, recovered: frame.recovered, after: frame.after };
    this.confirmed.set(frame.channel, info);
    this.requests.settleChannel(frame.channel, { value: info });
    // Re-subscribed from a position on a new session: the application must hear about a gap.
    if (sent?.from !== undefined) {
      this.hooks.emit('recovered', { resumed: false, recovered: frame.recovered, channels: [info] });
    }
  }

  private onReply(frame: ReplyFrame): void {
    if (!this.positions.accept(frame.channel, frame.id)) return; // replayed twice
    if (frame.ok) {
      this.requests.resolve(frame.ref, frame.data ?? null);
      return;
    }
    const code = frame.error?.code ?? 'ACTION_FAILED';
    this.requests.reject(
      frame.ref,
      new TetherClientError(
        code,
        { ref: frame.ref, detail: frame.error?.detail },
        { message: frame.error?.message, retryable: frame.error?.retryable },
      ),
    );
  }

  private onError(frame: ErrorFrame): void {
    const error = TetherClientError.fromFrame(frame);
    if (frame.ref !== undefined) {
      const subscribe = this.subscribeRefs.get(frame.ref);
      if (subscribe) {
        this.subscribeRefs.delete(frame.ref);
        this.inFlight.delete(subscribe.channel);
        // Refused for good: no longer wanted. Retryable: still wanted (re-sent after a reconnect,
        // or now by a new subscribe() call).
        if (!error.retryable) this.channels.delete(subscribe.channel);
        const waited = this.requests.settleChannel(subscribe.channel, { error });
        if (!waited) this.hooks.emit('error', error);
        return;
      }
      if (this.requests.reject(frame.ref, error)) return;
    }
    if (isErrorCode(frame.code) && errorSpec(frame.code).closeCode !== undefined) {
      this.closingError = frame; // reported once, with the close that follows
      return;
    }
    if (frame.code === 'RESUME_EXPIRED' || frame.code === 'RESUME_REJECTED') this.resumeError = error;
    this.hooks.emit('error', error);
  }
}
