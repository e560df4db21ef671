/**
 * What a `TetherClient` tells the application, by emitter event name.
 */
import type { ChannelResume, ClientStateName } from './shared.ts';
import type { TetherClientError } from './tether-client-error.ts';

export type { ClientStateName };

export interface StateChange {
  newState: ClientStateName;
  oldState: ClientStateName;
  /** Why, when the new state is `reconnecting` or `failed`. */
  error?: TetherClientError;
  /** `reconnecting`: the next attempt starts in this many ms (absent while offline). */
  retryInMs?: number;
  /** Reconnect attempts since the last `connected`. */
  attempt: number;
}

export interface ChannelEvent {
  channel: string;
  /** Stream ID, ordered per channel. */
  id: string;
  /** Server time the event was stored, ms since the epoch. */
  ts: number;
  data: unknown;
  /** An ephemeral channel's event: `id` is empty, it is never replayed and may have been dropped. */
  ephemeral?: true;
}

export interface RecoveredNotice {
  /** true when the previous session was re-attached (false: a new session, channels re-subscribed). */
  resumed: boolean;
  /** false when events were trimmed from retention while away: there is a gap. */
  recovered: boolean;
  channels: ChannelResume[];
}

export interface ClientEvents {
  state: StateChange;
  event: ChannelEvent;
  error: TetherClientError;
  queued: { position: number; estimatedWaitMs: number };
  recovered: RecoveredNotice;
}

export interface PublishAck {
  channel: string;
  id: string;
  /** A repeat of an earlier publish's `idempotencyKey`: nothing was appended, `id` is that publish's. */
  duplicate?: true;
  /** The channel is ephemeral: the event went to live subscribers only, nothing was stored; `id` is empty. */
  ephemeral?: true;
}

export interface PublishOptions {
  /**
   * Your key for this message (a UUID, 1–128 visible ASCII characters), kept with it until it is
   * acked: publishing again with the same key within the gateway's IDEMPOTENCY_WINDOW_MS (10 min
   * by default) stores it once. Queued publishes get one from the SDK when they have none.
   */
  idempotencyKey?: string;
}
