/**
 * The session as the client keeps it — session ID and resume token — and the
 * handling of every frame the gateway sends. Builds `hello` (with resume, and the
 * last event ID and epoch of every wanted channel), settles requests by ref, hands
 * channel frames to the subscriptions (subscription-set.ts), sends the in-band
 * `refresh` the client machine asks for and reports its answer.
 */
import type { ChannelPositions } from './channel-positions.ts';
import { classifyClose } from './classify-close.ts';
import type { ClientEvents } from './client-events.ts';
import type { ResolvedOptions } from './client-options.ts';
import { historyPage } from './history.ts';
import { type RequestFrame, type RequestRegistry, unconfirmed } from './request-registry.ts';
import { roundTrip } from './round-trip.ts';
import type {
  ErrorFrame,
  HelloFrame,
  RefreshFrame,
  ReplyFrame,
  ServerFrame,
  WelcomeFrame,
} from './shared.ts';
import { errorSpec, INBOX_PREFIX, inboxChannel, isErrorCode } from './shared.ts';
import type { SubscriptionSet } from './subscription-set.ts';
import { TetherClientError } from './tether-client-error.ts';

export const SDK_VERSION = '0.1.0';

export interface RouterHooks {
  emit<K extends keyof ClientEvents>(type: K, payload: ClientEvents[K]): void;
  /** `tokenExpiresInMs`: how long the connection's token has left, on this clock; absent: no `exp`. */
  welcomed(sessionId: string, tokenExpiresInMs: number | undefined): void;
  /** Our `refresh` was accepted: the connection runs on the new token, which has this long left. */
  refreshed(tokenExpiresInMs: number | undefined): void;
  /** Our `refresh` was answered with an error that does not close the connection. */
  refreshFailed(error: TetherClientError): void;
  /** Our `hello` was refused without a close: the gateway waits for a corrected one we cannot send. */
  helloRefused(error: TetherClientError): void;
  queued(position: number, estimatedWaitMs: number): void;
  pong(): void;
}

const isInbox = (channel: string) => channel.startsWith(INBOX_PREFIX);

/** A subscription the gateway ended without a ref: `detail` names it (docs/protocol.md §3 refresh, §7). */
const DROPPED_CHANNEL = /^dropped (\S+) on (?:refresh|resume)$/;

export class FrameRouter {
  session: { sessionId: string; resumeToken: string } | undefined;
  welcome: WelcomeFrame | undefined;
  readonly latency: { rttMs?: number; clockSkewMs?: number; lastPongAt?: number } = {};
  /** Welcomes received: the first connection and every reconnection after it. */
  welcomes = 0;
  /** An error frame announcing the close that follows it. */
  private closingError: ErrorFrame | undefined;
  private resumeError: TetherClientError | undefined;
  /** The ref of the `refresh` waiting for its answer on this connection. */
  private refreshRef: string | undefined;
  /** This connection's `welcome` came. */
  private welcomed = false;
  /**
   * Server clock minus this clock at `welcome`, ms. Token expiries are turned into this clock with
   * it alone, for the whole connection, so the same `exp` always lands on the same instant here.
   */
  private welcomeSkewMs = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly requests: RequestRegistry,
    private readonly positions: ChannelPositions,
    private readonly subscriptions: SubscriptionSet,
    private readonly hooks: RouterHooks,
  ) {}

  hello(token: string | undefined): HelloFrame {
    const frame: HelloFrame = {
      type: 'hello',
      client: { name: this.options.clientName, version: SDK_VERSION },
    };
    if (token) frame.token = token;
    if (this.options.batch) frame.batch = true;
    const session = this.session;
    // Resuming: echo the session's correlation ID, so one session keeps one ID across reconnects.
    const correlationId = (session && this.welcome?.correlationId) || this.options.correlationId;
    if (correlationId) frame.correlationId = correlationId;
    if (session) {
      const inbox = inboxChannel(session.sessionId);
      const { lastEventIds, epochs } = this.positions.resumeRecords(
        (c) => this.subscriptions.wants(c) || c === inbox,
      );
      frame.resume = { ...session, lastEventIds, epochs };
    }
    return frame;
  }

  beginConnection(): void {
    this.welcomed = false;
    this.closingError = undefined;
    this.refreshRef = undefined;
  }

  /** Send `refresh` with a new token; its answer reaches the `refreshed`/`refreshFailed` hooks. */
  refresh(token: string | undefined, send: (frame: RefreshFrame) => boolean): void {
    if (!token) return; // getToken() returns a token or fails (token-source.ts)
    const ref = this.requests.nextRef();
    this.refreshRef = ref;
    send({ type: 'refresh', ref, token });
  }

  /** The socket is gone: a sent publish may or may not have been stored — say so; a query is lost. */
  connectionLost(): void {
    this.subscriptions.connectionLost();
    this.requests.rejectWhere(
      (r) => r.frame.type === 'publish' && r.sent === true,
      (r) => unconfirmed(r),
    );
    // A page asked on the lost socket will not come: ask again (a read, so always safe).
    this.requests.rejectWhere(
      (r) => (r.frame.type === 'history' || r.frame.type === 'presence') && r.sent === true,
      (r) =>
        new TetherClientError('CONNECTION_LOST', { ref: r.ref, detail: `${r.frame.type} page not received` }),
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
  sizeError(frame: RequestFrame, text = JSON.stringify(frame)): TetherClientError | undefined {
    const limit = this.welcome?.maxMessageBytes;
    if (limit === undefined) return undefined;
    const bytes = new TextEncoder().encode(text).length;
    if (bytes <= limit) return undefined;
    return new TetherClientError('MESSAGE_TOO_LARGE', {
      ref: frame.ref,
      detail: `${bytes} > ${limit} bytes`,
    });
  }

  handle(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return; // not ours to judge; the gateway only sends JSON
    }
    this.route(frame);
  }

  private route(frame: ServerFrame): void {
    switch (frame.type) {
      case 'batch':
        // Frames the gateway coalesced for this socket (docs/protocol.md, "Batched delivery"): in order.
        for (const inner of frame.frames) this.route(inner);
        return;
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'queued':
        this.hooks.emit('queued', { position: frame.position, estimatedWaitMs: frame.estimatedWaitMs });
        this.hooks.queued(frame.position, frame.estimatedWaitMs);
        return;
      case 'event': {
        const event = frame.ephemeral
          ? this.subscriptions.deliverEphemeral(frame)
          : this.subscriptions.deliver(frame);
        if (event) this.hooks.emit('event', event);
        return;
      }
      case 'reply':
        this.onReply(frame);
        return;
      case 'ack':
        if (frame.ref)
          this.requests.resolve(frame.ref, {
            channel: frame.channel,
            id: frame.id,
            ...(frame.duplicate && { duplicate: true }),
            ...(frame.ephemeral && { ephemeral: true }),
          });
        return;
      case 'subscribed':
        // The inbox (announced by the first action) starts where the gateway says; a resumed one
        // was settled by `welcome`.
        if (isInbox(frame.channel)) {
          if (!this.positions.get(frame.channel)) this.positions.continueFrom(frame.channel, frame);
        } else this.subscriptions.subscribed(frame);
        return;
      case 'history':
        if (frame.ref) this.requests.resolve(frame.ref, historyPage(frame));
        return;
      case 'present':
        if (frame.ref)
          this.requests.resolve(frame.ref, {
            count: frame.count,
            members: frame.members,
            cursor: frame.cursor,
          });
        return;
      case 'membership':
        this.subscriptions.membership(frame);
        return;
      case 'pong':
        if (frame.ts !== undefined)
          Object.assign(this.latency, roundTrip(frame.ts, frame.serverTime), { lastPongAt: Date.now() });
        this.hooks.pong();
        return;
      case 'error':
        this.onError(frame);
        return;
      case 'refreshed':
        if (frame.ref !== undefined && frame.ref !== this.refreshRef) return;
        this.refreshRef = undefined;
        this.hooks.refreshed(this.expiresInMs(frame.tokenExpiresAt, Date.now() + this.welcomeSkewMs));
        return;
      case 'unsubscribed':
        // Ours carry a ref; one without is the backend's server-side unsubscribe.
        if (frame.ref === undefined) this.subscriptions.unsubscribedByServer(frame.channel);
        return;
      default:
        return; // frame types newer than this SDK
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
      for (const channel of this.positions.channels(isInbox)) this.positions.forget(channel);
    }
    this.welcomed = true;
    this.resumeError = undefined;
    this.session = { sessionId: frame.sessionId, resumeToken: frame.resumeToken };
    this.welcome = frame;
    this.welcomes++;
    this.welcomeSkewMs = frame.serverTime - Date.now();
    // The inbox resumes like any channel: a new history means replies with lower IDs.
    for (const info of frame.channels.filter((c) => isInbox(c.channel)))
      this.positions.continueFrom(info.channel, info);
    const channels = this.subscriptions.welcome(frame, isInbox);
    this.hooks.welcomed(frame.sessionId, this.expiresInMs(frame.tokenExpiresAt, frame.serverTime));
    if (frame.resumed) {
      this.hooks.emit('recovered', {
        resumed: true,
        recovered: channels.every((c) => c.recovered),
        channels,
      });
    }
  }

  /** The gateway's expiry as time left on this clock (the two clocks may disagree by minutes). */
  private expiresInMs(tokenExpiresAt: number | undefined, serverNow: number): number | undefined {
    return tokenExpiresAt === undefined ? undefined : tokenExpiresAt - serverNow;
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
        { ref: frame.ref, detail: frame.error?.detail, retryAfterMs: frame.error?.retryAfterMs },
        { message: frame.error?.message, retryable: frame.error?.retryable },
      ),
    );
  }

  private onError(frame: ErrorFrame): void {
    const error = TetherClientError.fromFrame(frame);
    if (frame.ref !== undefined) {
      if (this.subscriptions.refused(frame.ref, error)) return;
      if (this.requests.reject(frame.ref, error)) return;
    }
    if (isErrorCode(frame.code) && errorSpec(frame.code).closeCode !== undefined) {
      this.closingError = frame; // reported once, with the close that follows
      return;
    }
    // Before `welcome`, a `client` error without a ref answers the `hello` (docs/protocol.md §4: the
    // gateway keeps waiting for a valid one). This SDK would send the same again: the attempt ends.
    // Errors of other categories there (RESUME_EXPIRED, a dropped channel) come before a `welcome`.
    if (!this.welcomed && frame.ref === undefined && frame.category === 'client') {
      this.hooks.helloRefused(error);
      return;
    }
    if (frame.ref !== undefined && frame.ref === this.refreshRef) {
      this.refreshRef = undefined;
      this.hooks.refreshFailed(error);
      return;
    }
    const dropped = frame.code === 'FORBIDDEN_CHANNEL' ? DROPPED_CHANNEL.exec(frame.detail ?? '') : null;
    if (dropped?.[1]) this.subscriptions.dropped(dropped[1], error);
    if (frame.code === 'RESUME_EXPIRED' || frame.code === 'RESUME_REJECTED') this.resumeError = error;
    this.hooks.emit('error', error);
  }
}
