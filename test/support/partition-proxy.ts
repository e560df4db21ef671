/**
 * A TCP proxy in front of a gateway that can partition the line: from `partition()` on it
 * forwards nothing either way and passes on no close — a half-open connection, as a dead
 * network leaves it — until `stop()` destroys every socket.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class PartitionProxy {
  private cut = false;
  /** Connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(target: number): Promise<PartitionProxy> {
    const server = createServer();
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const proxy = new PartitionProxy(server, (server.address() as { port: number }).port);
        server.on('connection', (client) => {
          proxy.connections += 1;
          proxy.pipe(client, connect(target, '127.0.0.1'));
        });
        resolve(proxy);
      }),
    );
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  partition(): void {
    this.cut = true;
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private pipe(a: Socket, b: Socket): void {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => this.cut || to.write(chunk));
      from.on('error', () => {});
      from.on('close', () => this.cut || to.destroy());
    }
  }
}
