/**
 * `tether/client`: the Tether client SDK for browsers and Node 20.
 *
 * @example
 * import { TetherClient } from 'tether/client';
 * const client = new TetherClient({ url: 'wss://gateway.example.com/ws', getToken: () => fetchToken() });
 * client.on('event', ({ channel, id, data }) => render(channel, id, data));
 * client.connect();
 * await client.subscribe('room:1');
 */

export { ChannelPositions } from './channel-positions.ts';
export { classifyClose } from './classify-close.ts';
export { CLIENT_ERRORS, type ClientErrorCode, clientErrorSpec } from './client-errors.ts';
export type {
  ChannelEvent,
  ClientEvents,
  ClientStateName,
  PublishAck,
  RecoveredNotice,
  StateChange,
} from './client-events.ts';
export { CLIENT_DEFAULTS, type TetherClientOptions } from './client-options.ts';
export type { DiagnosticCheck, DiagnosticReport } from './diagnose.ts';
export { SDK_VERSION } from './frame-router.ts';
export { OfflineQueue } from './offline-queue.ts';
export type { ChannelResume, ErrorFrame } from './shared.ts';
export {
  BACKOFF_DEFAULTS,
  backoffCeiling,
  backoffDelay,
  ERRORS,
  type ErrorCategory,
  type ErrorCode,
} from './shared.ts';
export { TetherClient } from './tether-client.ts';
export { TetherClientError } from './tether-client-error.ts';
export type { WebSocketConstructor } from './websocket-like.ts';
