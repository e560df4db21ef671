/**
 * The client's subscriptions and what the gateway confirmed of them on the current
 * connection: sends `subscribe` (with `from` and `epoch` = the position, so a new session
 * replays the gap or says it is gone), matches `subscribed` and refusals to them, re-asks
 * after a retryable refusal, takes the gateway's word on where delivery continues (a gap
 * resets the position: channel-positions.ts), announces each gap once per channel, and
 * hands each new event to its subscription — once.
 */
import type { ChannelPositions, DeliveryStart } from './channel-positions.ts';
import type { ChannelEvent, ClientEvents } from './client-events.ts';
import type { HistoryOptions, HistoryPage } from './history.ts';
import type {
  ChannelResume,
  EphemeralEventFrame,
  EventFrame,
  MembershipFrame,
  SubscribedFrame,
  SubscribeFrame,
  WelcomeFrame,
} from './shared.ts';
import { AT_LEAST_JITTER, jitteredAtLeast } from './shared.ts';
import type { SocketLink } from './socket-link.ts';
import { type PresencePage, type SubscribeOptions, Subscription, unsubscribedError } from './subscription.ts';
import { TetherClientError } from './tether-client-error.ts';

/** Wait before re-asking after a retryable refusal without a hint, ms. */
const DEFAULT_RESUBSCRIBE_MS = 1000;

/** `subscribed` and `welcome.channels` carry the log's epoch; a gateway older than epochs does not. */
const epochOf = (frame: object): string | undefined => {
  const epoch = (frame as { epoch?: unknown }).epoch;
  return typeof epoch === 'string' ? epoch : undefined;
};

const startOf = (info: ChannelResume): DeliveryStart => ({
  recovered: info.recovered,
  after: info.after,
  ...withEpoch(epochOf(info)),
});

export interface SubscriptionSetDeps {
  link: Pick<SocketLink<unknown>, 'send'>;
  positions: ChannelPositions;
  nextRef(): string;
  isConnected(): boolean;
  emit<K extends keyof ClientEvents>(type: K, payload: ClientEvents[K]): void;
  random(): number;
  history(channel: string, options: HistoryOptions): Promise<HistoryPage>;
  presence(channel: string, page: { limit?: number; cursor?: string }): Promise<PresencePage>;
  /** Why the client can do nothing now (failed or closed); undefined while it can. */
  clientEnded(): TetherClientError | undefined;
}

export class SubscriptionSet {
  private readonly byChannel = new Map<string, Subscription>();
  /** Our subscribe refs → channel, and whether we asked to resume from a position. */
  private readonly refs = new Map<string, { channel: string; fromPosition: boolean }>();
  /** Channels whose `subscribed` frame is due on this connection. */
  private readonly inFlight = new Set<string>();
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();
  /**
   * Channels unsubscribed while no connection could say so: the session still holds them, so
   * their positions are kept until the next `welcome` — sent with the resume if the application
   * subscribes again meanwhile (the gateway would replay what was delivered already from where
   * the session started the channel), forgotten there otherwise.
   */
  private readonly releasedOffline = new Set<string>();
  /**
   * Channels asked for on a connection that went before the gateway confirmed them, with no
   * position to ask from again: the subscription starts later than the application asked, and
   * events published in between may be missed — its confirmation says `recovered: false`.
   */
  private readonly startedLate = new Set<string>();

  constructor(private readonly deps: SubscriptionSetDeps) {}

  /** The subscription of `channel`: the active one, or a new one. */
  subscribe(channel: string, options: SubscribeOptions = {}): Subscription {
    const existing = this.byChannel.get(channel);
    if (existing?.active) return existing;
    const subscription = new Subscription(channel, {
      release: (s) => this.release(s),
      positionOf: (c) => this.deps.positions.get(c),
      history: (c, o) => this.deps.history(c, o),
      presence: (c, page) => this.deps.presence(c, page),
      clientEnded: () => this.deps.clientEnded(),
    });
    this.byChannel.set(channel, subscription);
    // Subscribed again before the release reached the gateway: with `since`, the application's
    // position counts; without, the held one (what was delivered is not delivered again).
    if (this.releasedOffline.delete(channel) && options.since) this.deps.positions.forget(channel);
    // Start after `since`: events at or before it count as seen.
    if (options.since) this.deps.positions.startAt(channel, options.since);
    if (this.deps.isConnected()) this.send(channel);
    return subscription;
  }

  get(channel: string): Subscription | undefined {
    const subscription = this.byChannel.get(channel);
    return subscription?.active ? subscription : undefined;
  }

  /** Every active subscription. */
  all(): Subscription[] {
    return [...this.byChannel.values()].filter((s) => s.active);
  }

  wants(channel: string): boolean {
    return this.get(channel) !== undefined;
  }

  /** The socket is gone: nothing is confirmed or in flight on the next one. */
  connectionLost(): void {
    for (const channel of this.inFlight)
      if (this.deps.positions.get(channel) === undefined) this.startedLate.add(channel);
    this.refs.clear();
    this.inFlight.clear();
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    for (const subscription of this.byChannel.values()) subscription.suspend();
  }

  /** The client failed or was closed: nobody waits any longer, but the intent stays. */
  rejectWaiters(error: TetherClientError): void {
    for (const subscription of this.byChannel.values()) subscription.rejectWaiters(error);
  }

  /**
   * Resumed channels get their `subscribed` without a ref; the others are asked for. Returns
   * the resumed channels as the SDK judged them: a channel whose epoch is not the one held
   * counts as not recovered, whatever the frame says.
   */
  welcome(frame: WelcomeFrame, isInbox: (channel: string) => boolean): ChannelResume[] {
    for (const channel of this.releasedOffline) this.deps.positions.forget(channel);
    this.releasedOffline.clear();
    const resumed = new Set<string>();
    const judged: ChannelResume[] = [];
    for (const info of frame.channels) {
      if (isInbox(info.channel)) continue;
      resumed.add(info.channel);
      this.startedLate.delete(info.channel); // the session kept it from where it was first asked
      const subscription = this.get(info.channel);
      if (!subscription) {
        // The backend's server-side subscriptions stay (subscribe() to see their events).
        if (!info.server) this.sendUnsubscribe(info.channel);
        continue;
      }
      this.inFlight.add(info.channel);
      const recovered = !this.deps.positions.continueFrom(info.channel, startOf(info));
      judged.push({ ...info, recovered });
      if (frame.resumed)
        subscription.announce('recovered', {
          recovered,
          after: info.after,
          resumed: true,
          ...withEpoch(epochOf(info)),
        });
    }
    for (const subscription of this.all())
      if (!resumed.has(subscription.channel)) this.send(subscription.channel);
    return judged;
  }

  subscribed(frame: SubscribedFrame): void {
    const sent = frame.ref === undefined ? undefined : this.refs.get(frame.ref);
    if (frame.ref !== undefined) this.refs.delete(frame.ref);
    this.inFlight.delete(frame.channel);
    const subscription = this.get(frame.channel);
    if (!subscription) return; // the inbox, or unsubscribed meanwhile
    const epoch = epochOf(frame);
    const info: ChannelResume = {
      channel: frame.channel,
      recovered: frame.recovered,
      after: frame.after,
      epoch: frame.epoch,
    };
    // Without a ref: a resumed channel, whose position `welcome` settled already.
    if (sent || this.deps.positions.get(frame.channel) === undefined) {
      info.recovered = !this.deps.positions.continueFrom(frame.channel, startOf(info));
    }
    const late = this.startedLate.delete(frame.channel);
    if (late) info.recovered = false;
    // Re-subscribed from a position (a new session), or later than asked: the application must
    // hear about a gap.
    if (sent?.fromPosition || late) {
      subscription.announce('recovered', {
        recovered: info.recovered,
        after: frame.after,
        resumed: false,
        ...withEpoch(epoch),
      });
      this.deps.emit('recovered', { resumed: false, recovered: info.recovered, channels: [info] });
    }
    subscription.confirm(info);
  }

  /**
   * `unsubscribed` without a ref: the backend unsubscribed the session (docs/protocol.md §14;
   * the SDK's own unsubscribes carry one). The subscription ends, and says why.
   */
  unsubscribedByServer(channel: string): void {
    const subscription = this.get(channel);
    if (!subscription) return;
    this.inFlight.delete(channel);
    this.deps.positions.forget(channel);
    subscription.end(
      'unsubscribed',
      new TetherClientError('UNSUBSCRIBED_BY_SERVER', {
        detail: `unsubscribed from ${channel} by the backend`,
      }),
      true,
    );
  }

  /** The gateway dropped the channel (a refreshed token no longer allows it): failed, for good. */
  dropped(channel: string, error: TetherClientError): void {
    const subscription = this.get(channel);
    if (!subscription) return;
    this.inFlight.delete(channel);
    subscription.end('failed', error);
  }

  /** A refusal of one of our subscribes; false when `ref` is not one. */
  refused(ref: string, error: TetherClientError): boolean {
    const sent = this.refs.get(ref);
    if (!sent) return false;
    this.refs.delete(ref);
    this.inFlight.delete(sent.channel);
    const subscription = this.get(sent.channel);
    if (!subscription) return true;
    if (!error.retryable) {
      subscription.end('failed', error);
      this.deps.emit('error', error);
      return true;
    }
    subscription.announce('error', error);
    const wait = jitteredAtLeast(
      error.retryAfterMs ?? DEFAULT_RESUBSCRIBE_MS,
      AT_LEAST_JITTER,
      this.deps.random,
    );
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (subscription.active && this.deps.isConnected() && !this.inFlight.has(sent.channel))
        this.send(sent.channel);
    }, wait);
    this.retries.add(timer);
    return true;
  }

  /** An event for a wanted channel, not seen before: handed to its subscription; true when delivered. */
  deliver(frame: EventFrame): ChannelEvent | undefined {
    const subscription = this.get(frame.channel);
    if (!subscription || !this.deps.positions.accept(frame.channel, frame.id)) return undefined;
    const event: ChannelEvent = { channel: frame.channel, id: frame.id, ts: frame.ts, data: frame.data };
    subscription.deliver(event);
    return event;
  }

  /** An ephemeral channel's event: live only, it moves no position (it has no ID). */
  deliverEphemeral(frame: EphemeralEventFrame): ChannelEvent | undefined {
    const subscription = this.get(frame.channel);
    if (!subscription) return undefined;
    const event: ChannelEvent = {
      channel: frame.channel,
      id: '',
      ts: frame.ts,
      data: frame.data,
      ephemeral: true,
    };
    subscription.deliver(event);
    return event;
  }

  /** Who joined and left a wanted channel: its subscription's `join` and `leave` events. */
  membership(frame: MembershipFrame): void {
    this.get(frame.channel)?.membership(frame);
  }

  private release(subscription: Subscription): void {
    const { channel } = subscription;
    this.inFlight.delete(channel);
    this.startedLate.delete(channel);
    subscription.end('unsubscribed', unsubscribedError(channel));
    if (!this.deps.isConnected()) {
      this.releasedOffline.add(channel);
      return;
    }
    this.deps.positions.forget(channel);
    this.sendUnsubscribe(channel);
  }

  /**
   * Every unsubscribe the SDK sends carries a ref, so that its answer is told apart from the
   * backend's server-side unsubscribe (a ref-less `unsubscribed`: unsubscribedByServer), which
   * would otherwise end a subscription the application made again meanwhile.
   */
  private sendUnsubscribe(channel: string): void {
    this.deps.link.send({ type: 'unsubscribe', channel, ref: this.deps.nextRef() });
  }

  private send(channel: string): void {
    if (this.inFlight.has(channel)) return; // an answer is already on its way
    const ref = this.deps.nextRef();
    const position = this.deps.positions.get(channel);
    this.refs.set(ref, { channel, fromPosition: position !== undefined });
    this.inFlight.add(channel);
    const frame: SubscribeFrame = { type: 'subscribe', ref, channel };
    if (position) {
      frame.from = position.id;
      if (position.epoch !== undefined) frame.epoch = position.epoch;
    }
    this.deps.link.send(frame);
  }
}

function withEpoch(epoch: string | undefined): { epoch?: string } {
  return epoch === undefined ? {} : { epoch };
}
