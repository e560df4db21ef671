/**
 * A proxy in front of a gateway that does to WebSocket upgrades what corporate proxies do:
 * `refuse` answers them 403, `stall` holds them unanswered, `pass` lets them through. Plain
 * HTTP (the SSE stream, its POSTs, pages) always passes, streamed both ways.
 */
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export type UpgradeMode = 'pass' | 'refuse' | 'stall';

export class UpgradeProxy {
  mode: UpgradeMode;
  private readonly sockets = new Set<Duplex>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    mode: UpgradeMode,
  ) {
    this.mode = mode;
  }

  /** `target`: the gateway's port on 127.0.0.1. */
  static start(target: number, mode: UpgradeMode = 'refuse'): Promise<UpgradeProxy> {
    const server = createServer();
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const proxy = new UpgradeProxy(server, (server.address() as { port: number }).port, mode);
        proxy.route(target);
        resolve(proxy);
      }),
    );
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drop every WebSocket passed through so far, as a proxy that starts blocking would. */
  cutUpgraded(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  stop(): Promise<void> {
    this.cutUpgraded();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private route(target: number): void {
    this.server.on('request', (req, res) => {
      const upstream = request(
        { host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          // The gateway went away mid-response (a stream): so does the client's connection.
          answer.on('close', () => {
            if (!answer.complete) res.destroy();
          });
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      if (this.mode === 'refuse') {
        socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      if (this.mode === 'stall') return;
      const upstream: Socket = connect(target, '127.0.0.1', () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      });
      this.sockets.add(upstream);
      upstream.on('error', () => socket.destroy());
      upstream.on('close', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
  }
}
