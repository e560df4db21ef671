/**
 * One channel the application wants, as an object with its own state and events.
 * Subscriptions are intent: made while disconnected, they are sent on the next
 * `welcome`; after every reconnect they are resumed (or re-subscribed from their last
 * position) until `unsubscribe()`. States: `subscribing` (asked, or waiting for a
 * connection to ask on), `subscribed` (the gateway confirmed it on this connection),
 * `unsubscribed` (the application let go) and `failed` (refused for good, e.g.
 * FORBIDDEN_CHANNEL). Emits only on change, like the client's own `state`.
 *
 * @example
 * const room = client.subscribe('room:42');
 * room.on('publication', ({ id, data }) => render(id, data));
 * room.on('recovered', ({ recovered }) => recovered || reloadFromBackend());
 * await room.ready();
 */
import type { StreamPosition } from './channel-positions.ts';
import type { ChannelEvent } from './client-events.ts';
import type { HistoryOptions, HistoryPage } from './history.ts';
import type { ChannelResume, MembershipFrame, PresenceMember } from './shared.ts';
import { TetherClientError } from './tether-client-error.ts';
import { TypedEmitter } from './typed-emitter.ts';

export type { StreamPosition };

/** What a wait on a subscription ended by `unsubscribe()` is told: the client itself may be fine. */
export const unsubscribedError = (channel: string) =>
  new TetherClientError('UNSUBSCRIBED', { detail: `unsubscribed from ${channel}` });

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed' | 'failed';

export interface SubscriptionStateChange {
  newState: SubscriptionState;
  oldState: SubscriptionState;
  /** Why, for `failed`. */
  error?: TetherClientError;
}

/**
 * After a reconnect, or a subscribe from a position: whether every missed event came back.
 * Announced once per channel per resume or re-subscribe.
 */
export interface SubscriptionRecovered {
  /**
   * false: events after your position are gone — trimmed by retention, or lost with the log's
   * history (a new `epoch`). There is a gap: reload the channel's state from elsewhere. The
   * subscription's position is now `{ id: after, epoch }`, and events of the new history are
   * delivered even when their IDs are lower than the ones seen before.
   */
  recovered: boolean;
  /** Events that follow have IDs greater than this. */
  after: string;
  /** The epoch of the channel's log that `after` belongs to (absent from gateways older than epochs). */
  epoch?: string;
  /** true: the session was resumed; false: a new session re-subscribed from the last position. */
  resumed: boolean;
}

/** One page of the channel's presence (`presence()`). */
export interface PresencePage {
  /** Members now, whatever the page holds. */
  count: number;
  members: PresenceMember[];
  /** Pass it to `presence()` for the next page; absent on the last. */
  cursor?: string;
}

/** Who joined (or left) the channel since the last such event: coalesced, never replayed. */
export interface PresenceChange {
  members: PresenceMember[];
  /** Members after the change. */
  count: number;
  /** More changed than are listed: ask `presence()` for the list. */
  truncated: boolean;
}

export interface SubscriptionEvents {
  state: SubscriptionStateChange;
  /** A channel event, each exactly once, in order. */
  publication: ChannelEvent;
  recovered: SubscriptionRecovered;
  /** A refusal: retryable ones are asked again by the SDK, the others end in `failed`. */
  error: TetherClientError;
  /** Members joined (channels whose namespace enables join/leave events; docs/protocol.md §13). */
  join: PresenceChange;
  /** Members left. Not durable: after a reconnect, ask `presence()` again. */
  leave: PresenceChange;
}

export interface SubscribeOptions {
  /** Deliver the events after this position (replayed from the channel's log), then live ones. */
  since?: StreamPosition;
}

/** What a subscription asks of the client that made it. */
export interface SubscriptionOwner {
  release(subscription: Subscription): void;
  positionOf(channel: string): StreamPosition | undefined;
  history(channel: string, options: HistoryOptions): Promise<HistoryPage>;
  presence(channel: string, page: { limit?: number; cursor?: string }): Promise<PresencePage>;
  /** Why the client can do nothing now (it failed or was closed); undefined while it can. */
  clientEnded(): TetherClientError | undefined;
}

export class Subscription extends TypedEmitter<SubscriptionEvents> {
  private current: SubscriptionState = 'subscribing';
  private waiters: { resolve(info: ChannelResume): void; reject(error: unknown): void }[] = [];
  private confirmed: ChannelResume | undefined;
  /** The error that ended it (`failed`), or the last refusal it is retrying after. */
  lastError: TetherClientError | undefined;

  constructor(
    readonly channel: string,
    private readonly owner: SubscriptionOwner,
  ) {
    super();
  }

  get state(): SubscriptionState {
    return this.current;
  }

  /**
   * Where delivery stands: the last event delivered, or (before the first, and after a gap)
   * the ID the gateway continues after; with the epoch of the channel's log. Undefined until
   * the gateway first confirms the subscription (or a `since` was given).
   */
  get position(): StreamPosition | undefined {
    return this.owner.positionOf(this.channel);
  }

  /** Whether this subscription still wants its channel (`subscribing` or `subscribed`). */
  get active(): boolean {
    return this.current === 'subscribing' || this.current === 'subscribed';
  }

  /**
   * Resolves once the gateway confirms the subscription (at once when it already did), with
   * where delivery starts; rejects when it fails, is unsubscribed, or the client fails or is
   * closed first. A retryable refusal does not reject: the SDK asks again.
   */
  ready(): Promise<ChannelResume> {
    if (this.current === 'subscribed' && this.confirmed) return Promise.resolve(this.confirmed);
    if (!this.active) {
      const error = this.lastError ?? unsubscribedError(this.channel);
      return Promise.reject(error);
    }
    // The intent stays (a later connect() sends it), but nobody is told to wait for nothing.
    const ended = this.owner.clientEnded();
    if (ended) return Promise.reject(ended);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A page of the channel's log (`client.history()` for this channel); delivers nothing here. */
  history(options: HistoryOptions = {}): Promise<HistoryPage> {
    return this.owner.history(this.channel, options);
  }

  /**
   * One page of who is subscribed to the channel (its namespace must track presence, else
   * PRESENCE_NOT_ENABLED): `limit` members (default 100, at most 1000; 0 = the count alone),
   * after `cursor` (the previous page's).
   */
  presence(page: { limit?: number; cursor?: string } = {}): Promise<PresencePage> {
    return this.owner.presence(this.channel, page);
  }

  /** Stop receiving the channel, now and after reconnects. */
  unsubscribe(): void {
    if (this.active) this.owner.release(this);
  }

  /** @internal The gateway confirmed it. */
  confirm(info: ChannelResume): void {
    this.confirmed = info;
    this.lastError = undefined;
    this.move('subscribed');
    for (const waiter of this.settleWaiters()) waiter.resolve(info);
  }

  /** @internal The connection went away: it will be resumed on the next one. */
  suspend(): void {
    this.confirmed = undefined;
    if (this.current === 'subscribed') this.move('subscribing');
  }

  /**
   * @internal Ended: by the application (`unsubscribed`), by the backend (`unsubscribed`,
   * `byServer`: the state change carries why) or by a refusal (`failed`).
   */
  end(state: 'unsubscribed' | 'failed', error: TetherClientError, byServer = false): void {
    const told = state === 'failed' || byServer;
    if (told) this.lastError = error;
    this.move(state, told ? error : undefined);
    for (const waiter of this.settleWaiters()) waiter.reject(error);
  }

  /** @internal Reject whoever waits in `ready()` (the client failed or closed); the intent stays. */
  rejectWaiters(error: TetherClientError): void {
    for (const waiter of this.settleWaiters()) waiter.reject(error);
  }

  /** @internal */
  deliver(event: ChannelEvent): void {
    this.emit('publication', event);
  }

  /** @internal A `membership` frame: one `join` and one `leave` event, for the lists that are not empty. */
  membership(frame: MembershipFrame): void {
    const truncated = frame.truncated === true;
    if (frame.joined.length > 0) this.emit('join', { members: frame.joined, count: frame.count, truncated });
    if (frame.left.length > 0) this.emit('leave', { members: frame.left, count: frame.count, truncated });
  }

  /** @internal */
  announce<K extends 'recovered' | 'error'>(type: K, payload: SubscriptionEvents[K]): void {
    if (type === 'error') this.lastError = payload as TetherClientError;
    this.emit(type, payload);
  }

  private settleWaiters() {
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }

  private move(newState: SubscriptionState, error?: TetherClientError): void {
    const oldState = this.current;
    if (oldState === newState) return;
    this.current = newState;
    this.emit('state', error ? { newState, oldState, error } : { newState, oldState });
  }
}
