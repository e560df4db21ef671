/**
 * What every transport does when a client arrives (src/edge/ws-endpoint.ts for WebSocket,
 * src/edge/sse/ for server-sent events): read who it is from the request's headers, then
 * give the socket a `Connection` and its actor, so the core sees one kind of socket.
 */

import type { ConnectionInput } from '../../machines/connection.machine.ts';
import { Connection } from '../core/connection.ts';
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import type { EdgeSocket, Transport } from '../core/ports/edge-socket.ts';
import { forwardedClient, type TrustedProxies } from '../limits/client-address.ts';
import { isCorrelationId } from '../shared/identifiers.ts';
import type { HttpRequest } from './edge-port.ts';

export type ActorFactory = (input: ConnectionInput) => ConnectionActor;

/** A connection for the request; headers MUST be read before the handler returns (req is stack-allocated). */
export function connectionFor(
  core: GatewayCore,
  transport: Transport,
  req: HttpRequest,
  peer: string,
  trustedProxies: TrustedProxies,
): Connection {
  const correlationId = req.getHeader('x-correlation-id');
  const client = forwardedClient(peer, (name) => req.getHeader(name), trustedProxies);
  return new Connection(core, {
    transport,
    path: req.getUrl(),
    peer,
    ip: client.ip,
    scheme: client.proto,
    userAgent: req.getHeader('user-agent') || undefined,
    // Held to the hello field's rule (src/shared/identifiers.ts). A bad one is replaced by a
    // generated ID, not refused: a proxy may set this header, and tracing never costs a connection.
    correlationId: isCorrelationId(correlationId) ? correlationId : undefined,
    traceparent: req.getHeader('traceparent') || undefined,
    tracestate: req.getHeader('tracestate') || undefined,
  });
}

/** The socket is open: its actor starts, waiting for hello (the token's tier decides the place in line). */
export function startConnection(
  core: GatewayCore,
  createActor: ActorFactory,
  conn: Connection,
  socket: EdgeSocket,
): void {
  conn.socket = socket;
  // Before the actor starts: its first transition looks the trace up by the connection's ID.
  core.telemetry.socketOpened(conn.id, conn.trace);
  // The timeouts and error budget come with the machine (src/core/connection-runtime.ts).
  conn.actor = createActor({ connectionId: conn.id, correlationId: conn.correlationId });
  core.supervisor.supervise(conn.actor);
  core.socketOpened(conn);
}
