/**
 * The WebSocket route: uWS behaviour (limits, heartbeats, backpressure) and the
 * hand-off of socket events to `Connection`. Heartbeats are uWS's own: with
 * `sendPingsAutomatically`, a silent socket is pinged and closed if no pong follows
 * (when: `heartbeatTiming` in src/edge/uws.ts; the default 40 s is 24 s + 16 s).
 */
import { Ajv } from 'ajv';
import { httpRemoteAddress, reply, type WebSocketBehavior } from '../edge/uws.ts';
import { clientAddress } from '../limits/client-address.ts';
import { uwsBackpressureLimit, watchSlowConsumers } from '../limits/slow-consumers.ts';
import { jitteredRetryAfter } from '../shared/errors.ts';
import { HelloFrame } from '../shared/frames.ts';
import { connectionActorFactory } from '../supervisor/connection-actor.ts';
import { Connection, type SocketData } from './connection.ts';
import type { GatewayContext } from './context.ts';
import { onMessage } from './frame-handlers.ts';

export const WS_PATH = '/ws';

type UpgradeHandler = NonNullable<WebSocketBehavior<SocketData>['upgrade']>;

/** The `x-correlation-id` header obeys the hello frame's `correlationId` schema (src/shared/frames.ts). */
const isCorrelationId = new Ajv().compile<string>(HelloFrame.properties.correlationId);

export function mountWebSocket(ctx: GatewayContext): void {
  const { config } = ctx;
  const upgrade: UpgradeHandler = (res, req, context) => {
    // Headers MUST be copied synchronously: req is stack-allocated.
    const correlationId = req.getHeader('x-correlation-id');
    const peer = httpRemoteAddress(res);
    const conn = new Connection(ctx, {
      peer,
      ip: clientAddress(peer, req.getHeader('x-forwarded-for'), ctx.trustedProxies),
      userAgent: req.getHeader('user-agent'),
      // Held to the hello field's rule; a bad one is replaced by a generated ID, not refused.
      correlationId: isCorrelationId(correlationId) ? correlationId : undefined,
      traceparent: req.getHeader('traceparent') || undefined,
      tracestate: req.getHeader('tracestate') || undefined,
    });
    res.upgrade<SocketData>(
      { conn },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  };
  const createActor = connectionActorFactory(
    ctx.sessions,
    {
      // The actor's timers (handshake, admission) end many waiters at once: jitter their
      // hint so refused clients do not all come back in the same moment.
      closeTransport: (connectionId, code) => {
        ctx.connections.get(connectionId)?.close(code, { retryAfterMs: jitteredRetryAfter(code) });
      },
    },
    ctx.logger,
  );
  ctx.app.ws<SocketData>(WS_PATH, {
    // Frames up to 4× the limit reach us and get a coded MESSAGE_TOO_LARGE; beyond
    // that uWS drops the socket itself before buffering the whole frame.
    maxPayloadLength: config.maxMessageBytes * 4,
    // Above MAX_BACKPRESSURE_BYTES, where Tether closes with 4008: a close frame must still
    // fit. Past this uWS would silently skip a socket on topic publish; closing it instead
    // (1006, the last resort) lets the client resume from the log and lose nothing.
    maxBackpressure: uwsBackpressureLimit(config.maxBackpressureBytes),
    closeOnBackpressureLimit: 1,
    idleTimeout: config.idleTimeoutS,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      // A throw out of a uWS handler aborts the whole process: answer this request instead.
      try {
        upgrade(res, req, context);
      } catch (error) {
        ctx.logger.error({ err: error, url: req.getUrl() }, 'websocket upgrade failed');
        try {
          reply(res, 500, JSON.stringify({ code: 'INTERNAL' }));
        } catch {
          // the response is gone (upgraded or aborted): nothing left to answer
        }
      }
    },
    open: (ws) => {
      const conn = ws.getUserData().conn;
      conn.ws = ws;
      ctx.connections.set(conn.id, conn);
      // Admission waits for hello: the token's tier decides the place in line.
      conn.actor = createActor({
        connectionId: conn.id,
        correlationId: conn.correlationId,
        handshakeTimeoutMs: config.handshakeTimeoutMs,
        resumeWindowMs: config.resumeWindowMs,
        admissionTimeoutMs: config.admission.timeoutMs,
      });
      ctx.supervisor.supervise(conn.actor);
      ctx.limits.onOpen(conn);
    },
    message: (ws, message, isBinary) => onMessage(ws.getUserData().conn, message, isBinary),
    drain: (ws) => ws.getUserData().conn.onDrain(),
    close: (ws, code) => ws.getUserData().conn.onClose(code),
  });
  watchSlowConsumers(ctx);
}
