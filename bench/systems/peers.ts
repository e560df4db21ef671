/**
 * Starting the systems Tether is measured against, each in its own process. The
 * durable ones (`uws-durable`, `socketio-redis-streams`) get a private redis-server
 * each, like Tether's, reported apart as their auxiliary process.
 */
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import type { SystemName } from '../lib/options.ts';
import { ServerProcess } from './server-process.ts';
import type { ClientKind, RunningSystem, StartOptions } from './system.ts';
import { BENCH_JWT_SECRET, stopRedis } from './tether.ts';

interface Peer {
  script: string;
  clientKind: ClientKind;
  path: string;
  /** Needs its own redis-server (passed as REDIS_URL). */
  redis?: boolean;
}

const PEERS = {
  'uws-raw': { script: 'bench/systems/uws-raw.server.ts', clientKind: 'raw', path: '/' },
  'uws-durable': {
    script: 'bench/systems/uws-durable.server.ts',
    clientKind: 'tether',
    path: '/',
    redis: true,
  },
  ws: { script: 'bench/systems/ws.server.ts', clientKind: 'raw', path: '/' },
  socketio: { script: 'bench/systems/socketio.server.ts', clientKind: 'socketio', path: '' },
  'socketio-redis-streams': {
    script: 'bench/systems/socketio.server.ts',
    clientKind: 'socketio',
    path: '',
    redis: true,
  },
} as const satisfies Record<Exclude<SystemName, 'tether' | 'tether-ws' | 'tether-sse'>, Peer>;

export type PeerName = keyof typeof PEERS;

export async function startPeer(name: PeerName, options: StartOptions = {}): Promise<RunningSystem> {
  const peer: Peer = PEERS[name];
  const port = await freePort();
  const redis: RedisServerHandle | undefined = peer.redis ? await startRedisServer() : undefined;
  let server: ServerProcess;
  try {
    server = await ServerProcess.start({
      script: peer.script,
      nodeArgs: options.nodeArgs,
      env: { PORT: String(port), NODE_ENV: 'production', ...(redis ? { REDIS_URL: redis.url } : {}) },
      label: name,
    });
  } catch (error) {
    if (redis) await stopRedis(redis);
    throw error;
  }
  return {
    name: name as SystemName,
    clientKind: peer.clientKind,
    url: `${peer.clientKind === 'socketio' ? 'http' : 'ws'}://127.0.0.1:${port}${peer.path}`,
    // The Tether client always says hello with a token; the floor ignores it.
    ...(peer.clientKind === 'tether' ? { jwtSecret: BENCH_JWT_SECRET } : {}),
    serverPids: () => [server.pid],
    auxPids: () => (redis ? [redis.process.pid as number] : []),
    diagnostics: () => `${server.alive ? 'running' : 'exited'}; stderr: ${server.errors.trim().slice(-500)}`,
    collectGarbage: () => server.collectGarbage(),
    stop: async () => {
      await server.stop();
      if (redis) await stopRedis(redis);
    },
  };
}
