/**
 * `@tether-gateway/client`: the Tether client SDK for browsers and Node 20+.
 *
 * @example
 * import { TetherClient } from '@tether-gateway/client';
 * const client = new TetherClient({ url: 'wss://gateway.example.com/ws', getToken: () => fetchToken() });
 * client.connect();
 * const room = client.subscribe('room:1');
 * room.on('publication', ({ id, data }) => render(id, data));
 */

export { ChannelPositions } from './channel-positions.ts';
export { classifyClose } from './classify-close.ts';
export { CLIENT_ERRORS, type ClientErrorCode, clientErrorSpec } from './client-errors.ts';
export type {
  ChannelEvent,
  ClientEvents,
  ClientStateName,
  DetailedState,
  PublishAck,
  PublishOptions,
  RecoveredNotice,
  StateChange,
} from './client-events.ts';
export { CLIENT_DEFAULTS, type TetherClientOptions } from './client-options.ts';
export type { ClientStats } from './client-stats.ts';
export type { DiagnosticCheck, DiagnosticReport } from './diagnose.ts';
export { SDK_VERSION } from './frame-router.ts';
export type { HistoryOptions, HistoryPage } from './history.ts';
export { OfflineQueue } from './offline-queue.ts';
export type { ChannelResume, ErrorFrame, PresenceMember } from './shared.ts';
export {
  BACKOFF_DEFAULTS,
  backoffCeiling,
  backoffDelay,
  ERRORS,
  type ErrorCategory,
  type ErrorCode,
} from './shared.ts';
export type {
  PresenceChange,
  PresencePage,
  StreamPosition,
  SubscribeOptions,
  SubscriptionEvents,
  SubscriptionRecovered,
  SubscriptionState,
  SubscriptionStateChange,
} from './subscription.ts';
export { Subscription } from './subscription.ts';
export { TetherClient } from './tether-client.ts';
export { TetherClientError } from './tether-client-error.ts';
export type { TransportName, TransportPreference } from './transport-choice.ts';
export type { WebSocketConstructor } from './websocket-like.ts';
