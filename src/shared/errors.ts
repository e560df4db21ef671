/**
 * The error registry: every coded error Tether can send, in one place, shared by
 * the gateway and the client SDK. Codes are stable API; messages may improve.
 *
 * Categories follow the reliability seeds: `connection` (handshake, auth, session),
 * `event` (a frame the gateway could not act on), `client` (the client broke a rule:
 * size, rate, protocol) and `system` (the gateway or its store is in trouble).
 *
 * Close codes: RFC 6455 §7.4.1 codes where one fits (1008 policy, 1009 too big,
 * 1011 internal, 1012 service restart, 1013 try again later), 4000–4999 (the
 * application range) for the rest. An entry without `closeCode` is reported with an
 * `error` frame and the connection stays open.
 */
import { jitteredHint } from './backoff.ts';

export type ErrorCategory = 'connection' | 'event' | 'client' | 'system';

export interface ErrorSpec {
  readonly category: ErrorCategory;
  /** When set, the gateway closes the socket with this code after the error frame. */
  readonly closeCode?: number;
  /** Whether trying again (after `retryAfterMs`, or with backoff) can succeed. */
  readonly retryable: boolean;
  /** Suggested wait before retrying, in milliseconds. */
  readonly retryAfterMs?: number;
  /** What happened, for a person. */
  readonly message: string;
  /** What to do about it, for a person. */
  readonly recovery: string;
}

export const ERRORS = {
  AUTH_INVALID_TOKEN: {
    category: 'connection',
    closeCode: 4001,
    retryable: false,
    message: 'The access token is missing, malformed, or its signature does not verify.',
    recovery:
      'Obtain a new token from your auth provider and connect again; do not retry with the same token.',
  },
  AUTH_TOKEN_EXPIRED: {
    category: 'connection',
    closeCode: 4002,
    retryable: true,
    message: 'The access token has expired.',
    recovery:
      'Send refresh with a new token before exp to keep the connection (the SDK does); after a close, reconnect with a new token and resume.',
  },
  AUTH_REFRESH_REJECTED: {
    category: 'connection',
    closeCode: 4004,
    retryable: false,
    message: 'The token sent in refresh was refused (invalid, expired, or for another user).',
    recovery: 'Get a valid token for the same user, then reconnect and resume; the session is kept.',
  },
  AUTH_TOKEN_REVOKED: {
    category: 'connection',
    closeCode: 4005,
    retryable: true,
    message: 'The token was issued before a time the backend revoked this user’s tokens at.',
    recovery:
      'Get a token issued after the revocation (a new login), then reconnect and resume; the session is kept.',
  },
  USER_BLOCKED: {
    category: 'connection',
    closeCode: 4006,
    retryable: false,
    message: 'The backend blocked this user; its sessions were ended and new ones are refused.',
    recovery: 'Do not reconnect; the backend must unblock the user first.',
  },
  DISCONNECTED_BY_SERVER: {
    category: 'connection',
    closeCode: 4010,
    retryable: true,
    retryAfterMs: 1000,
    message: 'The backend disconnected this connection; its session was kept.',
    recovery: 'Reconnect with resume after retryAfterMs; nothing is lost.',
  },
  SESSION_CLOSED_BY_SERVER: {
    category: 'connection',
    closeCode: 4011,
    retryable: false,
    message: 'The backend ended this session; it cannot be resumed.',
    recovery: 'Do not resume. Connect again only if your application means to (a new session).',
  },
  HANDSHAKE_TIMEOUT: {
    category: 'connection',
    closeCode: 4003,
    retryable: true,
    retryAfterMs: 1000,
    message: 'No hello frame arrived within the handshake timeout.',
    recovery: 'Send {"type":"hello","token":...} as the first frame right after the socket opens.',
  },
  HELLO_REQUIRED: {
    category: 'client',
    closeCode: 1008,
    retryable: false,
    message: 'The first frame on a connection must be hello.',
    recovery:
      'Send hello as the first frame. Others may follow it at once (they are held until welcome), but none may come before it.',
  },
  WELCOME_PENDING: {
    category: 'client',
    retryable: true,
    message:
      'More than 64 frames came behind hello before welcome: this one was not handled (the connection stays open).',
    recovery:
      'Send it again once welcome has come (its ref says which frame); wait for welcome before sending more than 64 frames.',
  },
  ALREADY_AUTHENTICATED: {
    category: 'client',
    retryable: false,
    message: 'This connection already completed its hello; a second hello is ignored.',
    recovery: 'Open a new connection to change identity; the current session is unchanged.',
  },
  MALFORMED_MESSAGE: {
    category: 'client',
    retryable: false,
    message: 'The frame is not valid JSON, or a field is missing or has the wrong type.',
    recovery: 'Fix the frame to match docs/protocol.md; details name the offending field.',
  },
  UNKNOWN_FRAME_TYPE: {
    category: 'client',
    retryable: false,
    message: 'The frame type is not one the gateway knows.',
    recovery: 'Use one of the frame types in docs/protocol.md; check the client and gateway versions match.',
  },
  BINARY_NOT_SUPPORTED: {
    category: 'client',
    retryable: false,
    message: 'Binary frames are not part of the protocol.',
    recovery: 'Send JSON text frames.',
  },
  INVALID_UTF8: {
    category: 'client',
    closeCode: 1007,
    retryable: false,
    message: 'A text frame was not valid UTF-8 (RFC 6455 §8.1).',
    recovery: 'Fix the client’s encoding; reconnect to resume the session, which is kept.',
  },
  MESSAGE_TOO_LARGE: {
    category: 'client',
    closeCode: 1009,
    retryable: false,
    message: 'The frame is larger than the gateway accepts (maxMessageBytes in welcome).',
    recovery: 'Split the payload or store it elsewhere and send a reference; reconnect to resume.',
  },
  TOO_MANY_ERRORS: {
    category: 'client',
    closeCode: 1008,
    retryable: true,
    retryAfterMs: 5000,
    message:
      'The connection sent too many invalid frames, or went on sending while refused for rate, in a short time.',
    recovery: 'Fix the client; it may reconnect and resume after retryAfterMs.',
  },
  FORBIDDEN_CHANNEL: {
    category: 'event',
    retryable: false,
    message: 'The token does not allow subscribing to this channel.',
    recovery: "Request a token whose 'channels' claim covers this channel.",
  },
  TOO_MANY_SUBSCRIPTIONS: {
    category: 'client',
    retryable: false,
    message:
      'This connection is subscribed to as many channels as the gateway allows (MAX_SUBSCRIPTIONS_PER_CONNECTION).',
    recovery: 'Unsubscribe from channels no longer needed, or spread the channels over more connections.',
  },
  PRESENCE_NOT_ENABLED: {
    category: 'event',
    retryable: false,
    message: 'Presence is not tracked on this channel (its namespace does not enable it).',
    recovery: 'Enable presence for the channel’s namespace in the gateway configuration, or do not ask.',
  },
  PUBLISH_FORBIDDEN: {
    category: 'event',
    retryable: false,
    message: 'The token does not allow publishing to this channel.',
    recovery: "Request a token whose 'publish' claim covers this channel, or publish from the backend.",
  },
  CHANNEL_FULL: {
    category: 'event',
    retryable: true,
    retryAfterMs: 5000,
    message:
      'The channel has as many subscribers, across every gateway process, as its namespace allows (maxSubscribers).',
    recovery:
      'Retry after retryAfterMs (a subscriber may have left); a resumed session keeps its channels whatever the count.',
  },
  REPLAY_DISABLED: {
    category: 'event',
    retryable: false,
    message: "The channel's namespace does not let clients read past events (replay: false).",
    recovery:
      'Subscribe for live events only, or read the history from the backend (GET /channels/:channel/history).',
  },
  RESUME_EXPIRED: {
    category: 'connection',
    retryable: false,
    message: 'The session is past its resume window (or unknown); a new session was started instead.',
    recovery:
      'Re-subscribe with from=<last event id> per channel; the subscribed frame says whether the gap is recoverable.',
  },
  RESUME_REJECTED: {
    category: 'connection',
    retryable: false,
    message: 'The resume token does not match the session, or the session belongs to another user.',
    recovery: 'Start a new session (hello without resume) and re-subscribe with from=<last event id>.',
  },
  STORE_UNAVAILABLE: {
    category: 'system',
    retryable: true,
    retryAfterMs: 1000,
    message:
      'The event store (Redis) is not reachable, refused the request for now without running it (out of memory, a cluster slot moving), stopped answering while the request waited on it, or fewer replicas than PUBLISH_ACK_REPLICAS confirmed the event in time; the request was not accepted.',
    recovery:
      'Retry after retryAfterMs with the same idempotencyKey: unreachable or refused, nothing was written; stopped answering or short of replicas (the error frame’s detail, an HTTP body’s message, says which), the event may be in the log, and the key makes the retry a duplicate instead of a second event.',
  },
  SLOW_CONSUMER: {
    category: 'connection',
    closeCode: 4008,
    retryable: true,
    retryAfterMs: 250,
    message: 'The client read too slowly and its outbound buffer passed the limit.',
    recovery: 'Reconnect with resume; the missed events are replayed from the event log.',
  },
  SERVER_TIMEOUT: {
    category: 'system',
    closeCode: 1013,
    retryable: true,
    retryAfterMs: 2000,
    message:
      'The hello arrived, but this gateway process did not finish the handshake (token check, admission, session) within the handshake timeout: it or its store is overloaded.',
    recovery: 'Retry after retryAfterMs (jittered); a resume token you held still resumes the session.',
  },
  SERVER_BUSY: {
    category: 'system',
    closeCode: 1013,
    retryable: true,
    retryAfterMs: 2000,
    message: 'This gateway process is at its connection limit and its admission queue is full.',
    recovery: 'Retry after retryAfterMs (jittered); another process behind the same address may have room.',
  },
  ADMISSION_TIMEOUT: {
    // The gateway was saturated, as SERVER_BUSY says at once: its load, not this connection's doing.
    category: 'system',
    closeCode: 1013,
    retryable: true,
    retryAfterMs: 5000,
    message: 'The gateway was saturated and no slot freed up within the admission timeout.',
    recovery: 'Retry after retryAfterMs (jittered); higher tiers are admitted first.',
  },
  LOAD_SHED: {
    category: 'system',
    closeCode: 1013,
    retryable: true,
    retryAfterMs: 2000,
    message: 'The gateway is overloaded and closed lower-priority connections first.',
    recovery: 'Reconnect with resume after retryAfterMs; no events are lost.',
  },
  CONNECT_RATE_LIMITED: {
    category: 'client',
    closeCode: 4029,
    retryable: true,
    retryAfterMs: 10_000,
    message: 'Too many connection attempts from this address in the rate window (RATE_CONNECT_PER_IP).',
    recovery: 'Wait retryAfterMs before reconnecting; back off with jitter.',
  },
  USER_CONNECT_RATE_LIMITED: {
    category: 'client',
    closeCode: 4032,
    retryable: true,
    retryAfterMs: 10_000,
    message: 'Too many connection attempts by this user in the rate window (RATE_CONNECT_PER_USER).',
    recovery: 'Wait retryAfterMs before reconnecting; check for a reconnect loop in the client.',
  },
  TOO_MANY_CONNECTIONS: {
    category: 'client',
    closeCode: 4030,
    retryable: true,
    retryAfterMs: 10_000,
    message: 'This address already holds the most concurrent connections allowed (MAX_CONNECTIONS_PER_IP).',
    recovery: 'Retry after retryAfterMs, when a connection from this address has closed.',
  },
  USER_TOO_MANY_CONNECTIONS: {
    category: 'client',
    closeCode: 4033,
    retryable: true,
    retryAfterMs: 10_000,
    message: 'This user already holds the most concurrent connections allowed (MAX_CONNECTIONS_PER_USER).',
    recovery: 'Close an existing connection or share one connection between tabs/workers.',
  },
  AUTH_RATE_LIMITED: {
    category: 'connection',
    closeCode: 4031,
    retryable: true,
    retryAfterMs: 60_000,
    message: 'Too many failed authentications from this address.',
    recovery: 'Fix the token source, then retry after retryAfterMs.',
  },
  MESSAGE_RATE_LIMITED: {
    category: 'client',
    retryable: true,
    retryAfterMs: 1000,
    message: 'The connection sends frames faster than allowed; this frame was not processed.',
    recovery: 'Slow down and resend the frame after retryAfterMs.',
  },
  ACTION_FORBIDDEN: {
    category: 'event',
    retryable: false,
    message: 'The token does not allow this action.',
    recovery: "Request a token whose 'actions' claim covers this action name.",
  },
  ACTION_OVERLOADED: {
    category: 'system',
    retryable: true,
    retryAfterMs: 2000,
    message: 'The action queue is over its high-water mark; low-priority actions are refused for now.',
    recovery: 'Retry after retryAfterMs; nothing was queued.',
  },
  UNKNOWN_ACTION: {
    category: 'event',
    retryable: false,
    message: 'No worker handles this action name.',
    recovery: 'Check the action name against the backend worker.',
  },
  ACTION_FAILED: {
    category: 'event',
    retryable: false,
    message: 'The backend worker failed while handling the action.',
    recovery: 'See detail; report the correlation ID if it persists.',
  },
  ACTION_TIMEOUT: {
    category: 'system',
    retryable: true,
    retryAfterMs: 5000,
    message: 'No backend worker took the action in time; it was withdrawn from the queue and did not run.',
    recovery: 'Send it again later; if it keeps happening, the action workers are down or far behind.',
  },
  SERVICE_RESTART: {
    category: 'system',
    closeCode: 1012,
    retryable: true,
    retryAfterMs: 500,
    message:
      'The gateway closed the connection for it to be resumed: the process is restarting or draining, the session moved, or a channel must be read again.',
    recovery:
      'Reconnect with resume (to any gateway process); the welcome says for each channel whether anything was missed (detail says why the connection closed).',
  },
  INTERNAL: {
    category: 'system',
    closeCode: 1011,
    retryable: true,
    retryAfterMs: 1000,
    message: 'The gateway hit an unexpected error.',
    recovery: 'Reconnect with resume; report the correlation ID if it persists.',
  },
  ORIGIN_NOT_ALLOWED: {
    // No socket exists yet: the upgrade or SSE request is answered 403 with `{ error: code }`, not closed.
    category: 'connection',
    retryable: false,
    message:
      'The page’s Origin is not in the gateway’s ALLOWED_ORIGINS: the WebSocket upgrade or SSE stream was refused (HTTP 403).',
    recovery:
      'Serve the page from an allowed origin, or add its origin (scheme://host[:port]) to ALLOWED_ORIGINS.',
  },
  SSE_CONNECTION_UNKNOWN: {
    category: 'connection',
    retryable: true,
    message:
      'No gateway process holds an open event stream with this connection token (POST /sse/frames): the stream closed.',
    recovery: 'Open a new stream (GET /sse) and resume the session with the token its first event hands out.',
  },
  SSE_POST_MISSING: {
    category: 'client',
    closeCode: 4012,
    retryable: true,
    message:
      'A numbered POST on this event stream (tether-seq) never arrived, so the POSTs numbered after it could not be handled in order: the stream closed, and they were not handled.',
    recovery:
      'Number a stream’s POSTs 1, 2, … with none skipped, at most 31 ahead of one not yet answered. Open a new stream, resume, and send again what was not acknowledged.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function errorSpec(code: ErrorCode): ErrorSpec {
  return ERRORS[code];
}

/**
 * The registry's `retryAfterMs` for `code`, jittered ±50 % (`jitteredHint`) so clients
 * turned away together do not come back together; undefined when the code suggests none.
 */
export function jitteredRetryAfter(code: ErrorCode, random?: () => number): number | undefined {
  const ms = errorSpec(code).retryAfterMs;
  return ms === undefined ? undefined : jitteredHint(ms, random);
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}
