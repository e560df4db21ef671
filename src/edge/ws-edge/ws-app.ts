/**
 * The portable edge's App: uWS's routing, upgrade and pub/sub on `node:http` + `ws`.
 * As in uWS, an upgrade request on a path with no WebSocket route is answered by
 * the HTTP routes, and a request no route matches gets uWS 20.5x's plain 404
 * (uWS 20.30 cut the connection instead).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenOptions as NetListenOptions } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type App,
  LISTEN_SHARED,
  type ListenOptions,
  type RecognizedString,
  type RouteHandler,
  type WebSocketBehavior,
} from '../edge-port.ts';
import { bytesOf, HTTP_IDLE_TIMEOUT_MS, NodeRequest, NodeResponse, textOf } from './http-adapters.ts';
import { Router } from './router.ts';
import { Topics } from './topics.ts';
import { WsRoute } from './ws-route.ts';

/** Request header bytes the portable edge takes (Node's default is 16 KiB). */
const MAX_HEADER_BYTES = 128 * 1024;

export class WsApp implements App {
  private readonly routes = new Router<RouteHandler>();
  private readonly wsRoutes = new Router<WsRoute<unknown>>();
  private readonly topics = new Topics();

  ws<UserData>(pattern: string, behavior: WebSocketBehavior<UserData>): App {
    this.wsRoutes.add('*', pattern, new WsRoute(behavior, this.topics) as WsRoute<unknown>);
    return this;
  }

  get(pattern: string, handler: RouteHandler): App {
    this.routes.add('get', pattern, handler);
    return this;
  }

  head(pattern: string, handler: RouteHandler): App {
    this.routes.add('head', pattern, handler);
    return this;
  }

  post(pattern: string, handler: RouteHandler): App {
    this.routes.add('post', pattern, handler);
    return this;
  }

  options(pattern: string, handler: RouteHandler): App {
    this.routes.add('options', pattern, handler);
    return this;
  }

  any(pattern: string, handler: RouteHandler): App {
    this.routes.add('*', pattern, handler);
    return this;
  }

  publish(topic: RecognizedString, message: RecognizedString, isBinary = false, compress = false): boolean {
    return this.topics.publish(
      textOf(topic),
      typeof message === 'string' ? message : bytesOf(message),
      isBinary,
      compress,
    );
  }

  numSubscribers(topic: RecognizedString): number {
    return this.topics.count(textOf(topic));
  }

  /**
   * LISTEN_SHARED listens with SO_REUSEPORT where Node has it (22.12+, 23.1+), so
   * processes share a port as they do on uWS; Node 20 ignores the option and a second
   * process gets EADDRINUSE. LISTEN_EXCLUSIVE is Node's default bind (no SO_REUSEPORT).
   */
  listen(host: string, port: number, options: ListenOptions, cb: (token: Server | false) => void): App {
    // Node refuses requests over 16 KiB of headers (431); an SSE stream's Last-Event-ID holds a
    // position per channel its session holds (up to 512, ~80 KB), and uWS takes it: so may this.
    const server = createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      // Headers not complete within uWS's idle time are cut, checked every second (Node's
      // defaults, 60 s checked every 30 s, let a client that stops halfway hold a socket).
      headersTimeout: HTTP_IDLE_TIMEOUT_MS,
      connectionsCheckingInterval: 1000,
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    const failed = () => cb(false);
    server.once('error', failed);
    const reusePort = options === LISTEN_SHARED;
    server.listen({ host, port, reusePort } as NetListenOptions, () => {
      server.off('error', failed);
      cb(server);
    });
    return this;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse | undefined): void {
    const { path, query } = splitUrl(req.url);
    const match = this.routes.match((req.method ?? 'GET').toLowerCase(), path);
    if (!match) {
      new NodeResponse(req, res).writeStatus('404 Not Found').end('File Not Found', true);
      return;
    }
    match.handler(new NodeResponse(req, res), new NodeRequest(req, path, query, match.params));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { path, query } = splitUrl(req.url);
    const match =
      req.headers.upgrade?.toLowerCase() === 'websocket' ? this.wsRoutes.match('get', path) : undefined;
    if (!match) {
      this.onRequest(req, undefined);
      return;
    }
    const route = match.handler;
    const res = new NodeResponse(req, undefined, (userData, protocol, early) =>
      route.accept(req, socket, early.length ? Buffer.concat([head, ...early]) : head, userData, protocol),
    );
    const request = new NodeRequest(req, path, query, match.params);
    if (route.behavior.upgrade) {
      route.behavior.upgrade(res, request, undefined);
      if (!res.settled) res.watchUpgradeSocket();
      return;
    }
    const header = (name: string) => request.getHeader(name);
    res.upgrade({}, header('sec-websocket-key'), header('sec-websocket-protocol'), '', undefined);
  }
}

function splitUrl(url = '/'): { path: string; query: string | undefined } {
  const mark = url.indexOf('?');
  return mark < 0
    ? { path: url, query: undefined }
    : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}
