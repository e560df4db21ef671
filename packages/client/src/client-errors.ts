/**
 * Errors only the client can observe — a socket that vanished, a ping that was not
 * answered, a queue that overflowed — in the same shape as the gateway's registry
 * (src/shared/errors.ts). Together the two are every code a `TetherClientError`
 * can carry. Codes are stable API; messages may improve.
 */
import { ERRORS, type ErrorCode, type ErrorSpec } from './shared.ts';

export const CLIENT_ERRORS = {
  CONNECTION_LOST: {
    category: 'connection',
    closeCode: 1006,
    retryable: true,
    message:
      'The connection dropped without a close frame (network change, proxy timeout, or the gateway stopped).',
    recovery:
      'Nothing to do: the SDK reconnects with backoff and resumes where it left off. If it persists, run client.diagnose().',
  },
  CONNECTION_CLOSED: {
    category: 'connection',
    retryable: true,
    message: 'The gateway closed the connection without a reason the SDK knows.',
    recovery: 'The SDK reconnects with backoff and resumes; check the gateway and SDK versions match.',
  },
  POLICY_VIOLATION: {
    category: 'client',
    closeCode: 1008,
    retryable: false,
    message: 'The gateway closed the connection for breaking its policy (close code 1008).',
    recovery:
      'Check the error events before the close for the rule that was broken, fix the client, connect again.',
  },
  CONNECT_TIMEOUT: {
    category: 'connection',
    retryable: true,
    message: 'No welcome arrived within the connect timeout.',
    recovery:
      'The SDK retries with backoff. If it persists, check the URL and any proxy that may block WebSocket upgrades (client.diagnose()).',
  },
  QUEUE_TIMEOUT: {
    category: 'connection',
    retryable: true,
    message: 'The gateway held this connection in its admission queue and stopped reporting progress.',
    recovery: 'The SDK retries with backoff; the gateway is overloaded, so expect a longer wait.',
  },
  HEARTBEAT_TIMEOUT: {
    category: 'connection',
    retryable: true,
    message:
      'The gateway sent nothing after a heartbeat ping, not even a refusal; the connection is probably half-open.',
    recovery: 'Nothing to do: the SDK drops the socket and reconnects with resume.',
  },
  NETWORK_OFFLINE: {
    category: 'connection',
    retryable: true,
    message: 'The browser reports that there is no network.',
    recovery: 'The SDK reconnects as soon as the network returns; no attempts are spent meanwhile.',
  },
  GATEWAY_UNREACHABLE: {
    category: 'connection',
    retryable: true,
    message:
      'The gateway could not be reached (connection refused, DNS, no route, or the WebSocket upgrade was refused).',
    recovery:
      'Nothing to do if it is restarting: the SDK keeps retrying and resumes. If it persists, check the URL and that the gateway is up (client.diagnose()).',
  },
  TOKEN_UNAVAILABLE: {
    category: 'connection',
    retryable: true,
    message: 'getToken() failed or returned no token, while the gateway itself answers.',
    recovery: 'Check the token source (login session, token endpoint); the SDK retries with backoff.',
  },
  RECONNECT_EXHAUSTED: {
    category: 'connection',
    retryable: false,
    message: 'The SDK spent its maxReconnectAttempts; pending publishes and actions were rejected.',
    recovery:
      'Nothing to do: a readiness probe brings the client back once the gateway is ready (or call connect()). Check the network and the gateway with client.diagnose().',
  },
  OFFLINE_QUEUE_FULL: {
    category: 'client',
    retryable: false,
    message: 'The offline queue is full, so this publish or action was not queued.',
    recovery: 'Wait until the state is "connected" before sending more, or raise offlineQueueSize.',
  },
  DELIVERY_UNCONFIRMED: {
    category: 'event',
    retryable: true,
    message:
      'The connection dropped after this publish was sent and before the gateway acknowledged it; it may or may not have been stored.',
    recovery:
      'Publish it again with the same idempotencyKey (stored once), or look for it in the channel after reconnecting; without a key, publish again only if a duplicate is harmless.',
  },
  REQUEST_TIMEOUT: {
    category: 'event',
    retryable: true,
    message: 'No answer to this request arrived within its timeout.',
    recovery:
      'A publish may still be stored: send it again with the same idempotencyKey (stored once). For an action, check that a backend worker handles its name, then retry.',
  },
  CLIENT_CLOSED: {
    category: 'client',
    retryable: false,
    message: 'The client was disconnected before this request completed.',
    recovery: 'Call connect() and send it again.',
  },
  UNSUBSCRIBED: {
    category: 'client',
    retryable: false,
    message: 'unsubscribe() ended this subscription; it waits for nothing and receives nothing more.',
    recovery: 'Call client.subscribe(channel) again for a new subscription, and wait on its ready().',
  },
  UNSUBSCRIBED_BY_SERVER: {
    category: 'client',
    retryable: false,
    message: 'The backend unsubscribed this session from the channel (a server-side unsubscribe).',
    recovery: 'Nothing more arrives on this subscription: subscribe again if the backend allows it.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ClientOnlyErrorCode = keyof typeof CLIENT_ERRORS;
/** Every code a client can see: the gateway's registry plus the client's own. */
export type ClientErrorCode = ErrorCode | ClientOnlyErrorCode;

/**
 * The registry entry for any code a client can see. A code newer than this SDK
 * (a newer gateway) gets a neutral entry; the gateway's frame carries its words.
 */
export function clientErrorSpec(code: ClientErrorCode): ErrorSpec {
  if (Object.hasOwn(CLIENT_ERRORS, code)) return CLIENT_ERRORS[code as ClientOnlyErrorCode];
  if (Object.hasOwn(ERRORS, code)) return ERRORS[code as ErrorCode];
  return {
    category: 'system',
    retryable: false,
    message: `Error ${code}.`,
    recovery: 'See docs/protocol.md for this code; the SDK may be older than the gateway.',
  };
}

export function isClientErrorCode(value: string): value is ClientErrorCode {
  return Object.hasOwn(CLIENT_ERRORS, value) || Object.hasOwn(ERRORS, value);
}
