/** Everything a connection needs from the process, built once by the gateway. */
import type { Redis } from 'ioredis';
import type { ActionDispatcher } from '../actions/action-dispatcher.ts';
import type { AdmissionController } from '../admission/admission-controller.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { ChannelReader } from '../channels/channel-reader.ts';
import type { EventLog } from '../channels/event-log.ts';
import type { Config } from '../config/config.ts';
import type { App } from '../edge/uws.ts';
import type { TrustedProxies } from '../limits/client-address.ts';
import type { ConnectionLimits } from '../limits/connection-limits.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControlBus } from '../redis/control-bus.ts';
import type { SessionStore } from '../session/session-store.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { Connection } from './connection.ts';

export interface GatewayContext {
  config: Config;
  logger: Logger;
  app: App;
  redis: Redis;
  sessions: SessionStore;
  events: EventLog;
  reader: ChannelReader;
  verifier: TokenVerifier;
  supervisor: Supervisor;
  control: ControlBus;
  admission: AdmissionController;
  limits: ConnectionLimits;
  /** TRUSTED_PROXIES, parsed once: whose X-Forwarded-For names the client (WebSocket and HTTP alike). */
  trustedProxies: TrustedProxies;
  actions: ActionDispatcher;
  /** Open sockets by connection ID. */
  connections: Map<string, Connection>;
}

/** uWS topic for a channel's live events. */
export const channelTopic = (channel: string) => `c:${channel}`;
