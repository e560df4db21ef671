/**
 * The portable edge: the edge port on `ws` and `node:http`, for where no native
 * uWS build loads (another Node ABI, an older glibc, musl). Same behaviour, less
 * throughput: docs/edge.md lists the differences and bench/ measures the cost.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, Server as NetServer } from 'node:net';
import type { Edge } from '../edge-port.ts';
import { WsApp } from './ws-app.ts';

const wsVersion = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;

export function createWsEdge(reason: string): Edge {
  return {
    info: { impl: 'ws', version: `ws@${wsVersion}`, reason },
    createApp: () => new WsApp(),
    listeningPort: (token) => ((token as Server).address() as AddressInfo).port,
    // Stops accepting; open connections stay, as on uWS — keep-alive ones included, so a
    // load balancer's health check still reads the drain's 503 (http.Server.close would end them).
    closeListenSocket: (token) => NetServer.prototype.close.call(token as Server),
  };
}
