/**
 * Starting the three peers Tether is measured against, each in its own process.
 */
import { freePort } from '../../src/redis/embedded-redis.ts';
import type { SystemName } from '../lib/options.ts';
import { ServerProcess } from './server-process.ts';
import type { ClientKind, RunningSystem, StartOptions } from './system.ts';

const PEERS = {
  'uws-raw': { script: 'bench/systems/uws-raw.server.ts', clientKind: 'raw', path: '/' },
  ws: { script: 'bench/systems/ws.server.ts', clientKind: 'raw', path: '/' },
  socketio: { script: 'bench/systems/socketio.server.ts', clientKind: 'socketio', path: '' },
} as const satisfies Record<string, { script: string; clientKind: ClientKind; path: string }>;

export type PeerName = keyof typeof PEERS;

export async function startPeer(name: PeerName, options: StartOptions = {}): Promise<RunningSystem> {
  const peer = PEERS[name];
  const port = await freePort();
  const server = await ServerProcess.start({
    script: peer.script,
    nodeArgs: options.nodeArgs,
    env: { PORT: String(port), NODE_ENV: 'production' },
    label: name,
  });
  return {
    name: name as SystemName,
    clientKind: peer.clientKind,
    url: `${peer.clientKind === 'socketio' ? 'http' : 'ws'}://127.0.0.1:${port}${peer.path}`,
    serverPids: () => [server.pid],
    auxPids: () => [],
    diagnostics: () => `${server.alive ? 'running' : 'exited'}; stderr: ${server.errors.trim().slice(-500)}`,
    collectGarbage: () => server.collectGarbage(),
    stop: () => server.stop(),
  };
}
