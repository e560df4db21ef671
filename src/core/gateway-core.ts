/**
 * The core of one gateway process: its sockets, its supervisor (the pool actor
 * and the connection actors), the lifecycle it announces, and the ports it works
 * through. Built by the composition root (src/gateway.ts) from adapters; the
 * core's modules take it as their one dependency, and know nothing but ports.
 */
import type { Logger } from 'pino';
import type { ChannelPolicy } from '../config/channel-policy.ts';
import type { Config } from '../config/config.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { Connection, ConnectionHost } from './connection.ts';
import { DirectDelivery } from './direct-delivery.ts';
import { Lifecycle } from './lifecycle.ts';
import type { ActionSink } from './ports/action-sink.ts';
import type { ChannelOccupancy } from './ports/channel-occupancy.ts';
import type { ConnectionGate } from './ports/connection-gate.ts';
import type { ChannelFeed, EventStore } from './ports/event-store.ts';
import type { PresenceStore } from './ports/presence-store.ts';
import type { RevocationList } from './ports/revocation-list.ts';
import type { SessionNotices, SessionStore } from './ports/session-store.ts';
import type { StoreReadiness } from './ports/store-readiness.ts';
import type { Telemetry } from './ports/telemetry.ts';
import type { TokenVerifier } from './ports/token-verifier.ts';
import type { Supervisor } from './supervisor.ts';

export interface CorePorts {
  events: EventStore;
  feed: ChannelFeed;
  occupancy: ChannelOccupancy;
  sessions: SessionStore;
  notices: SessionNotices;
  verifier: TokenVerifier;
  gate: ConnectionGate;
  actions: ActionSink;
  readiness: StoreReadiness;
  telemetry: Telemetry;
  presence: PresenceStore;
  revocations: RevocationList;
}

export class GatewayCore implements ConnectionHost {
  /** Open sockets by connection ID. */
  readonly connections = new Map<string, Connection>();
  readonly lifecycle: Lifecycle;
  /** Live delivery socket by socket: ephemeral channels and batched delivery. */
  readonly direct = new DirectDelivery();

  constructor(
    readonly config: Config,
    readonly ports: CorePorts,
    readonly supervisor: Supervisor,
    /** The process's logger, for lines that belong to no one connection. */
    readonly logger: Logger,
    /** How often the edge pings a silent socket (welcome tells the client), ms. */
    readonly heartbeatMs: number,
    /** What each channel allows, by its namespace. */
    readonly policy: ChannelPolicy,
  ) {
    this.lifecycle = new Lifecycle((error, announcement) =>
      logger.error({ err: error, announcement }, 'lifecycle listener failed'),
    );
  }

  get telemetry(): Telemetry {
    return this.ports.telemetry;
  }

  /** A socket was upgraded and bound to its actor. */
  socketOpened(conn: Connection): void {
    this.connections.set(conn.id, conn);
    this.lifecycle.opened(conn);
  }

  socketClosed(conn: Connection, closeCode: number, reason: string | undefined): void {
    this.direct.forget(conn);
    for (const channel of conn.subscriptions.keys()) {
      this.ports.feed.leave(channel);
      this.ports.occupancy.leave(channel, conn.id);
    }
    this.connections.delete(conn.id);
    this.supervisor.release(conn.id);
    this.lifecycle.closed(conn, closeCode, reason);
  }

  errorReported(conn: Connection, code: ErrorCode): void {
    this.lifecycle.errorReported(conn, code);
  }
}
