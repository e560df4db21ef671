/**
 * What a `TetherClient` tells the application, by emitter event name.
 */
import type { SnapshotFrom } from 'xstate';
import type { ChannelResume, ClientStateName, clientMachine } from './shared.ts';
import type { TetherClientError } from './tether-client-error.ts';

export type { ClientStateName };

/**
 * The machine's full state value (machines/client.machine.ts), e.g. `{ reconnecting: 'offline' }` or
 * `{ connected: { heartbeat: 'live', token: 'valid' } }`.
 */
export type DetailedState = SnapshotFrom<typeof clientMachine>['value'];

interface StateChangeBase {
  oldState: ClientStateName;
  /** Reconnect attempts since the last `connected`. */
  attempt: number;
}

/**
 * A change of the top-level state. `error` is there exactly when the new state is `reconnecting`
 * or `failed` (every way there records a failure), so checking `newState` narrows it.
 */
export type StateChange =
  | (StateChangeBase & {
      newState: 'reconnecting';
      /** Why. */
      error: TetherClientError;
      /** The next attempt starts in this many ms (absent while offline or checking readiness). */
      retryInMs?: number;
    })
  | (StateChangeBase & { newState: 'failed' /** Why. */; error: TetherClientError; retryInMs?: undefined })
  | (StateChangeBase & {
      newState: Exclude<ClientStateName, 'reconnecting' | 'failed'>;
      error?: undefined;
      retryInMs?: undefined;
    });

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
