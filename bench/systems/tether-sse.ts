/**
 * `tether-sse`: the same gateway as `tether`, with its clients on the fallback transport
 * (docs/protocol.md §1.1: events down `GET /sse`, frames up `POST /sse/frames`) — what a
 * client behind a proxy that strips the WebSocket upgrade costs the gateway.
 */
import type { RunningSystem, StartOptions } from './system.ts';
import { startTether } from './tether.ts';

export async function startTetherSse(options: StartOptions = {}): Promise<RunningSystem> {
  const tether = await startTether(options);
  return { ...tether, name: 'tether-sse', clientKind: 'tether-sse', url: `${tether.httpUrl}/sse` };
}
