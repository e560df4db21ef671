/**
 * The wire protocol: every frame, as JSON Schema (TypeBox) and as TypeScript types,
 * shared by the gateway (which validates inbound frames with a compiled validator)
 * and the client SDK. docs/protocol.md is the prose for the same definitions.
 */
import { type Static, Type as T } from '@sinclair/typebox';
import type { ErrorCategory, ErrorCode } from './errors.ts';
import {
  ACTION_NAME_PATTERN,
  CHANNEL_PATTERN,
  CORRELATION_ID_PATTERN,
  EPOCH_PATTERN,
  EVENT_ID_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_HISTORY_LIMIT,
  PRESENCE_CURSOR_PATTERN,
  PRESENCE_PAGE_MAX,
} from './identifiers.ts';

export {
  ACTION_NAME_PATTERN,
  CHANNEL_PATTERN,
  compareEventIds,
  EPOCH_PATTERN,
  EVENT_ID_PATTERN,
  IDEMPOTENCY_KEY_PATTERN,
  INBOX_PREFIX,
  inboxChannel,
  isEventId,
  MAX_HISTORY_LIMIT,
  MAX_NESTING_DEPTH,
  PRESENCE_CURSOR_PATTERN,
  PRESENCE_PAGE_DEFAULT,
  PRESENCE_PAGE_MAX,
} from './identifiers.ts';

const Channel = T.String({ pattern: CHANNEL_PATTERN });
/** Shape by pattern, range by the `event-id` format (isEventId): the server's validator registers it. */
const EventId = T.String({ pattern: EVENT_ID_PATTERN, format: 'event-id' });
/** A channel log's identity (docs/protocol.md, "Epochs"), as welcome and subscribed hand it out. */
const Epoch = T.String({ pattern: EPOCH_PATTERN });
/** A client-chosen request reference, echoed on the reply (ack, subscribed, error). */
const Ref = T.String({ minLength: 1, maxLength: 64 });
const ShortText = T.String({ maxLength: 256 });

const IdempotencyKey = T.String({ pattern: IDEMPOTENCY_KEY_PATTERN });

/** Events a history page holds when `limit` is not given. */
export const DEFAULT_HISTORY_LIMIT = 100;

/**
 * Reserved channels the gateway itself writes to: session and channel lifecycle
 * notifications for backends (docs/protocol.md, "Reserved channels"). Nobody publishes
 * there; only a token whose `channels` claim names `system:` patterns may read them.
 */
export const SYSTEM_PREFIX = 'system:';
export const SESSIONS_CHANNEL = 'system:sessions';
export const CHANNELS_CHANNEL = 'system:channels';

export const HelloFrame = T.Object(
  {
    type: T.Literal('hello'),
    token: T.Optional(T.String({ maxLength: 8192 })),
    /** A bad one is MALFORMED_MESSAGE like any bad field; headers are replaced instead (identifiers.ts). */
    correlationId: T.Optional(T.String({ pattern: CORRELATION_ID_PATTERN })),
    traceparent: T.Optional(ShortText),
    resume: T.Optional(
      T.Object(
        {
          sessionId: T.String({ minLength: 1, maxLength: 64 }),
          resumeToken: T.String({ minLength: 1, maxLength: 128 }),
          // additionalProperties: a key that is not a channel name must be an error, not ignored.
          lastEventIds: T.Optional(
            T.Record(T.String({ pattern: CHANNEL_PATTERN }), EventId, { additionalProperties: false }),
          ),
          /** The epoch each position in lastEventIds belongs to. */
          epochs: T.Optional(
            T.Record(T.String({ pattern: CHANNEL_PATTERN }), Epoch, { additionalProperties: false }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    client: T.Optional(
      T.Object(
        { name: T.Optional(ShortText), version: T.Optional(ShortText) },
        { additionalProperties: false },
      ),
    ),
    /** Live events in `batch` frames, one per event-loop turn at most (docs/protocol.md, "Batched delivery"). */
    batch: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

export const SubscribeFrame = T.Object(
  {
    type: T.Literal('subscribe'),
    ref: T.Optional(Ref),
    channel: Channel,
    from: T.Optional(EventId),
    /** The epoch `from` belongs to: a different one means the log's history was lost. */
    epoch: T.Optional(Epoch),
  },
  { additionalProperties: false },
);

export const UnsubscribeFrame = T.Object(
  { type: T.Literal('unsubscribe'), ref: T.Optional(Ref), channel: Channel },
  { additionalProperties: false },
);

export const PublishFrame = T.Object(
  {
    type: T.Literal('publish'),
    ref: T.Optional(Ref),
    channel: Channel,
    data: T.Unknown(),
    idempotencyKey: T.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);

/** A page of a channel's log: `since` is exclusive, in the direction of travel (`reverse`: newest first). */
export const HistoryFrame = T.Object(
  {
    type: T.Literal('history'),
    ref: T.Optional(Ref),
    channel: Channel,
    limit: T.Optional(T.Integer({ minimum: 1, maximum: MAX_HISTORY_LIMIT })),
    since: T.Optional(EventId),
    /** The epoch `since` belongs to: a different one means the history it was in is gone. */
    epoch: T.Optional(Epoch),
    reverse: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

export const ActionFrame = T.Object(
  {
    type: T.Literal('action'),
    ref: Ref,
    name: T.String({ pattern: ACTION_NAME_PATTERN }),
    data: T.Optional(T.Unknown()),
  },
  { additionalProperties: false },
);

export const PingFrame = T.Object(
  { type: T.Literal('ping'), ts: T.Optional(T.Number()) },
  { additionalProperties: false },
);

export const ByeFrame = T.Object(
  { type: T.Literal('bye'), reason: T.Optional(ShortText) },
  { additionalProperties: false },
);

/** A fresh token for the same user, before the current one expires: the connection goes on. */
export const RefreshFrame = T.Object(
  { type: T.Literal('refresh'), ref: T.Optional(Ref), token: T.String({ minLength: 1, maxLength: 8192 }) },
  { additionalProperties: false },
);

/** Who is subscribed to a channel whose namespace tracks presence: answered with `present`, one page. */
export const PresenceFrame = T.Object(
  {
    type: T.Literal('presence'),
    ref: T.Optional(Ref),
    channel: Channel,
    /** Members per page; 0 asks for the count alone. */
    limit: T.Optional(T.Integer({ minimum: 0, maximum: PRESENCE_PAGE_MAX })),
    /** The `cursor` of the previous page; absent for the first. */
    cursor: T.Optional(T.String({ pattern: PRESENCE_CURSOR_PATTERN })),
  },
  { additionalProperties: false },
);

/** Every frame a client may send, discriminated by `type`. */
export const ClientFrameSchemas = {
  hello: HelloFrame,
  subscribe: SubscribeFrame,
  unsubscribe: UnsubscribeFrame,
  publish: PublishFrame,
  action: ActionFrame,
  ping: PingFrame,
  bye: ByeFrame,
  refresh: RefreshFrame,
  history: HistoryFrame,
  presence: PresenceFrame,
} as const;

export type HelloFrame = Static<typeof HelloFrame>;
export type SubscribeFrame = Static<typeof SubscribeFrame>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;
export type PublishFrame = Static<typeof PublishFrame>;
export type ActionFrame = Static<typeof ActionFrame>;
export type PingFrame = Static<typeof PingFrame>;
export type ByeFrame = Static<typeof ByeFrame>;
export type RefreshFrame = Static<typeof RefreshFrame>;
export type HistoryFrame = Static<typeof HistoryFrame>;
export type PresenceFrame = Static<typeof PresenceFrame>;
export type ClientFrame =
  | HelloFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | ActionFrame
  | PingFrame
  | ByeFrame
  | RefreshFrame
  | HistoryFrame
  | PresenceFrame;
export type ClientFrameType = keyof typeof ClientFrameSchemas;

// ---- server → client (built by the gateway; types only, no runtime validation needed) ----

export interface ChannelResume {
  channel: string;
  /**
   * false when events after the requested position are gone: trimmed from retention,
   * or the log's history was lost (its epoch changed, or its IDs went backwards).
   */
  recovered: boolean;
  /** Events that follow have IDs greater than this. */
  after: string;
  /** The channel log's identity; keep it with the position and send it back on resume. */
  epoch: string;
  /** true: the backend subscribed this session (a server-side subscription, kept across resume). */
  server?: true;
}

export interface WelcomeFrame {
  type: 'welcome';
  sessionId: string;
  resumeToken: string;
  connectionId: string;
  correlationId: string;
  userId: string;
  /** true when an existing session was re-attached. */
  resumed: boolean;
  /** true when every resumed channel could be replayed without a gap. */
  recovered: boolean;
  channels: ChannelResume[];
  heartbeatMs: number;
  maxMessageBytes: number;
  resumeWindowMs: number;
  serverTime: number;
  /** When the token this connection presented expires (ms since the epoch); absent when it does not. */
  tokenExpiresAt?: number;
}

export interface SubscribedFrame extends ChannelResume {
  type: 'subscribed';
  ref?: string;
}

export interface UnsubscribedFrame {
  type: 'unsubscribed';
  ref?: string;
  channel: string;
}

export interface EventFrame {
  type: 'event';
  channel: string;
  id: string;
  ts: number;
  data: unknown;
  ephemeral?: undefined;
}

/**
 * An event of an ephemeral channel (docs/protocol.md, "Ephemeral channels"): live
 * only, so it has no ID and moves no position; it may be dropped for a backed-up socket.
 */
export interface EphemeralEventFrame {
  type: 'event';
  channel: string;
  ephemeral: true;
  ts: number;
  data: unknown;
  id?: undefined;
}

/** Several frames for one socket in one (docs/protocol.md, "Batched delivery"), in order. */
export interface BatchFrame {
  type: 'batch';
  frames: ServerFrame[];
}

export interface AckFrame {
  type: 'ack';
  ref?: string;
  channel: string;
  id: string;
  /** true: a repeat of an earlier publish with the same `idempotencyKey`; `id` is that publish's, nothing was appended. */
  duplicate?: true;
  /** true: the channel is ephemeral — the event went to live subscribers, nothing was stored; `id` is empty. */
  ephemeral?: true;
}

/**
 * The answer to a `history` request: events as `event` frames (`reply` frames on an
 * inbox), `data` byte for byte as published.
 */
export interface HistoryPageFrame {
  type: 'history';
  ref?: string;
  channel: string;
  events: (EventFrame | ReplyFrame)[];
  /** The log's epoch now (docs/protocol.md, "Epochs"). */
  epoch: string;
  /** The newest ID the log ever gave an event (`0-0` for a log that never had one). */
  top: string;
  /** false when the page from `since` is not whole: `gap` says why. */
  recovered: boolean;
  /**
   * Why the page is not whole (absent when it is; docs/protocol.md §6.11): 'lost', `since`
   * is in a history that is gone (another epoch, past `top`) and the page starts again at
   * the oldest event held (at `top`, reverse); 'missing', the log lost events at or after
   * `since` (a failover) and the page goes on after it; 'trimmed', paging forward, retention
   * dropped events after `since` and the page starts at the oldest event held.
   */
  gap?: 'lost' | 'missing' | 'trimmed';
}

export interface ErrorFrame {
  type: 'error';
  ref?: string;
  code: ErrorCode;
  category: ErrorCategory;
  message: string;
  recovery: string;
  retryable: boolean;
  retryAfterMs?: number;
  correlationId: string;
  detail?: string;
}

/** The pool is saturated: this connection waits for a slot, in priority order. */
export interface QueuedFrame {
  type: 'queued';
  /** 1 = next to be admitted. */
  position: number;
  estimatedWaitMs: number;
}

/**
 * The outcome of an `action`, delivered on the session's own inbox channel
 * (`inbox:<sessionId>`) so it survives reconnects and process changes like any
 * event: `channel` and `id` belong in `lastEventIds` on resume.
 */
export interface ReplyFrame {
  type: 'reply';
  channel: string;
  id: string;
  ts: number;
  ref: string;
  /** The correlation ID of the connection that sent the action (and that the worker saw). */
  correlationId?: string;
  ok: boolean;
  data?: unknown;
  error?: { code: ErrorCode; message: string; detail?: string; retryable: boolean; retryAfterMs?: number };
}

/** A `refresh` was accepted: the connection now runs on the new token. */
export interface RefreshedFrame {
  type: 'refreshed';
  ref?: string;
  /** When the new token expires (ms since the epoch); absent when it does not. */
  tokenExpiresAt?: number;
}

/** One subscriber of a channel whose namespace tracks presence. */
export interface PresenceMember {
  userId: string;
  sessionId: string;
  /** What the session's hello said about the client (`hello.client`). */
  client: { name?: string; version?: string };
  /** When the session joined the channel, ms since the epoch. */
  since: number;
}

/** One page of a channel's presence, answering `presence` (members ordered by session ID). */
export interface PresentFrame {
  type: 'present';
  ref?: string;
  channel: string;
  /** Members now, whatever the page holds. */
  count: number;
  members: PresenceMember[];
  /** Send it back for the next page; absent on the last one. */
  cursor?: string;
}

/**
 * Who joined and who left a channel whose namespace enables join/leave events, since the
 * last such frame: coalesced (at most one frame per channel per 250 ms), never replayed.
 */
export interface MembershipFrame {
  type: 'membership';
  channel: string;
  /** Members after these changes. */
  count: number;
  /** At most 100 each; `truncated` when more changed (ask with `presence` for the list). */
  joined: PresenceMember[];
  left: PresenceMember[];
  truncated?: true;
}

export interface PongFrame {
  type: 'pong';
  ts?: number;
  serverTime: number;
}

export type ServerFrame =
  | WelcomeFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | EventFrame
  | EphemeralEventFrame
  | BatchFrame
  | AckFrame
  | ErrorFrame
  | QueuedFrame
  | ReplyFrame
  | RefreshedFrame
  | HistoryPageFrame
  | PresentFrame
  | MembershipFrame
  | PongFrame;
