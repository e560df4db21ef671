/**
 * The WebSocket route: the edge's behaviour (limits, heartbeats, backpressure) and
 * the hand-off of socket events to the core — a `Connection` and its actor per
 * socket. Heartbeats are the edge's own: with `sendPingsAutomatically`, a silent
 * socket is pinged and closed if no pong follows (when: `heartbeatTiming` in
 * src/edge/uws.ts; the default 40 s is 24 s + 16 s).
 */
import type { Connection } from '../core/connection.ts';
import { onControlFrame, onMessage } from '../core/frame-router.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import { edgeBackpressureLimit } from '../core/slow-consumers.ts';
import { AllowedOrigins } from '../limits/allowed-origins.ts';
import { forwardedClient, type TrustedProxies } from '../limits/client-address.ts';
import { ERRORS } from '../shared/errors.ts';
import { compressOptions } from './compression.ts';
import { type ActorFactory, connectionFor, startConnection } from './open-connection.ts';
import {
  type App,
  edgeCloseReason,
  type HttpResponse,
  httpRemoteAddress,
  reply,
  type WebSocketBehavior,
} from './uws.ts';

export const WS_PATH = '/ws';

interface SocketData {
  conn: Connection;
}

type UpgradeHandler = NonNullable<WebSocketBehavior<SocketData>['upgrade']>;

export function mountWebSocket(
  app: App,
  core: GatewayCore,
  createActor: ActorFactory,
  trustedProxies: TrustedProxies,
): void {
  const { config, logger } = core;
  const origins = new AllowedOrigins(config.allowedOrigins);
  const upgrade: UpgradeHandler = (res, req, context) => {
    // Headers MUST be copied synchronously: req is stack-allocated.
    if (req.getHeader('upgrade').toLowerCase() !== 'websocket') {
      // uWS 20.30 upgrades on a Sec-WebSocket-Key alone; the portable edge (and RFC 6455 §4.2.1)
      // wants `Upgrade: websocket`, and answers the request without it from the HTTP routes.
      const body = { error: 'UPGRADE_REQUIRED', message: upgradeRequired(WS_PATH) };
      reply(res, 426, JSON.stringify(body), 'application/json', { upgrade: 'websocket' });
      return;
    }
    const peer = httpRemoteAddress(res);
    const origin = req.getHeader('origin');
    if (!origins.allows(origin)) {
      refuseOrigin(res, origin);
      const { ip } = forwardedClient(peer, (name) => req.getHeader(name), trustedProxies);
      logger.info(
        { origin, ip, code: 'ORIGIN_NOT_ALLOWED' },
        'websocket upgrade refused: origin not allowed',
      );
      return;
    }
    const conn = connectionFor(core, 'websocket', req, peer, trustedProxies);
    res.upgrade<SocketData>(
      { conn },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  };
  app.ws<SocketData>(WS_PATH, {
    // Frames up to 4× the limit reach us and get a coded MESSAGE_TOO_LARGE; beyond
    // that the edge drops the socket itself before buffering the whole frame.
    maxPayloadLength: config.maxMessageBytes * 4,
    // Above MAX_BACKPRESSURE_BYTES, where Tether closes with 4008: a close frame must still
    // fit. Past this the edge would silently skip a socket on topic publish; closing it instead
    // (1006, the last resort) lets the client resume from the log and lose nothing.
    maxBackpressure: edgeBackpressureLimit(config.maxBackpressureBytes),
    closeOnBackpressureLimit: 1,
    idleTimeout: config.idleTimeoutS,
    sendPingsAutomatically: true,
    compression: compressOptions(config.compression),
    upgrade: (res, req, context) => {
      // A throw out of a uWS handler aborts the whole process: answer this request instead.
      try {
        upgrade(res, req, context);
      } catch (error) {
        logger.error({ err: error, url: req.getUrl() }, 'websocket upgrade failed');
        try {
          reply(res, 500, JSON.stringify({ code: 'INTERNAL' }));
        } catch {
          // the response is gone (upgraded or aborted): nothing left to answer
        }
      }
    },
    open: (ws) => startConnection(core, createActor, ws.getUserData().conn, ws),
    message: (ws, message, isBinary) => onMessage(core, ws.getUserData().conn, message, isBinary),
    // Pings and pongs are frames too: they count toward the message rate (frame-router.ts).
    ping: (ws) => onControlFrame(ws.getUserData().conn, 'ping'),
    pong: (ws) => onControlFrame(ws.getUserData().conn, 'pong'),
    drain: (ws) => ws.getUserData().conn.onDrain(),
    close: (ws, code, message) => ws.getUserData().conn.onClose(code, edgeCloseReason(message)),
  });
}

/** Why a request for the WebSocket endpoint at `path` that is no upgrade is answered 426 UPGRADE_REQUIRED. */
export function upgradeRequired(path: string): string {
  return `${path} is the WebSocket endpoint: the request must be a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key: 16 random bytes in base64, Sec-WebSocket-Version: 13). A proxy that drops the upgrade headers makes this answer too; the SSE fallback (GET /sse) needs no upgrade.`;
}

/**
 * 403 before any socket exists: the browser's page sees the upgrade fail (its WebSocket gets
 * 1006); `headers`: CORS, for the SSE fallback's fetch to read it (src/edge/sse/sse-cors.ts).
 */
export function refuseOrigin(res: HttpResponse, origin: string, headers?: Record<string, string>): void {
  const { message, recovery } = ERRORS.ORIGIN_NOT_ALLOWED;
  const body = JSON.stringify({ error: 'ORIGIN_NOT_ALLOWED', message, recovery, origin });
  reply(res, 403, body, 'application/json', headers);
}
