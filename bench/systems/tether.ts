/**
 * The real gateway as `npm start` runs it — `dist/src/main.js`, built by tsc from the
 * tree as it is once per bench run (under tsx every closure pays esbuild's name
 * wrapper, and each start compiles the sources again) — one or
 * more processes sharing one port (SO_REUSEPORT) and one private redis-server
 * started for the bench (no persistence, temp dir). The redis-server's CPU and
 * RSS are reported apart from the gateway's: Tether's relay and fan-out go
 * through Redis, and hiding that cost would flatter it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { promisify } from 'node:util';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { progress } from '../lib/progress.ts';
import { withTimeout } from '../lib/timing.ts';
import { REPO_ROOT, ServerProcess } from './server-process.ts';
import type { RunningSystem, StartOptions } from './system.ts';

const GATEWAY_SCRIPT = 'dist/src/main.js';
let built: Promise<unknown> | undefined;

/** Build dist/ (the gateway only, not the client bundles) once per bench run. */
function buildGateway(): Promise<unknown> {
  if (!built) {
    progress('build', 'tether', 'tsc -p tsconfig.build.json (dist/, what npm start runs)');
    built = promisify(execFile)(
      process.execPath,
      [`${REPO_ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'],
      { cwd: REPO_ROOT },
    );
  }
  return built;
}

export const BENCH_JWT_SECRET = 'bench-hs256-secret-that-is-long-enough-0123456789';
export const BENCH_PUBLISH_KEY = 'bench-publish-key-0123456789';
const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789';

/**
 * Per-IP and per-user limits are off: the generators share a handful of source
 * addresses, so limits meant for one abusive client would throttle the whole
 * benchmark. The peers have no such limits either. Everything else is default.
 */
export const BENCH_LIMITS_OFF = {
  RATE_CONNECT_PER_IP: '0',
  RATE_CONNECT_PER_USER: '0',
  MAX_CONNECTIONS_PER_IP: '0',
  MAX_CONNECTIONS_PER_USER: '0',
  MESSAGES_PER_SECOND: '0',
};

/**
 * Admission by event-loop lag is relaxed (defaults 100 ms saturate / 500 ms shed):
 * on this shared 2-core box, neighbours' load stalls a process for half a second
 * now and then, and with the defaults Tether shed bench clients mid-measurement
 * (LOAD_SHED, close 1013) — which measures the neighbours, not Tether. Heap and
 * buffered-bytes admission stay at their defaults. A SATURATE_EVENT_LOOP_LAG_MS in the
 * bench's environment (at most 5000) replaces the 2000, e.g. 500 to make the storm
 * saturate the process and watch its admission queue drain; the report lists it.
 */
export const BENCH_ADMISSION_LAG = {
  SATURATE_EVENT_LOOP_LAG_MS: process.env.SATURATE_EVENT_LOOP_LAG_MS ?? '2000',
  SHED_EVENT_LOOP_LAG_MS: '5000',
};

/** Every variable the bench sets away from Tether's defaults (the report lists them). */
export const BENCH_OVERRIDES = { ...BENCH_LIMITS_OFF, ...BENCH_ADMISSION_LAG };

export interface RunningTether extends RunningSystem {
  readonly httpUrl: string;
  /** The bench's private redis-server, to check what the gateways stored. */
  readonly redisUrl: string;
  /** Gateway process count (each with its own NODE_ID). */
  readonly processes: number;
  /** SIGTERM every gateway process (they drain: clients are closed with 1012) and wait for exit. */
  stopGateways(): Promise<void>;
  /** Start the gateway processes again on the same port and Redis; resolves when all are ready. */
  startGateways(): Promise<void>;
  /**
   * A rolling restart's first half: a new set of processes beside the running ones, on
   * the same port; resolves when all are ready, with a function that SIGTERMs the old
   * set and waits for its exit. `serverPids()` names the new set from then on.
   */
  startNextGateways(): Promise<() => Promise<void>>;
}

export async function startTether(options: StartOptions = {}): Promise<RunningTether> {
  await buildGateway();
  const processes = options.processes ?? 1;
  const own = options.redis ? undefined : await startRedisServer();
  const redis = options.redis ?? { url: (own as RedisServerHandle).url, pids: [own?.process.pid as number] };
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  const profileDir = options.cpuProfDir;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  let gateways: ServerProcess[] = [];
  let generation = 0;

  /** A set of `processes` gateways, each with a NODE_ID of its own, ready once each has answered. */
  const spawnGeneration = async (): Promise<ServerProcess[]> => {
    generation++;
    const ids = Array.from({ length: processes }, (_, i) => nodeId(i, generation));
    const started = ids.map((node, i) =>
      ServerProcess.spawn({
        script: GATEWAY_SCRIPT,
        label: `tether gateway ${i + 1}/${processes}${generation > 1 ? ` (start ${generation})` : ''}`,
        nodeArgs: [
          ...(options.nodeArgs ?? []),
          ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
        ],
        env: { ...gatewayEnv(port, redis.url, node), ...options.env },
      }),
    );
    // The processes share one port, so readiness is "every NODE_ID has answered":
    // each new HTTP connection lands on a process chosen by the kernel's hash.
    const seen = new Set<string>();
    const allSeen = async () => {
      const node = await statsNode(httpUrl);
      if (node && ids.includes(node)) seen.add(node);
      return seen.size === processes;
    };
    try {
      await Promise.all(started.map((g) => g.waitReady(allSeen, 60_000)));
    } catch (error) {
      await Promise.all(started.map((g) => g.stop()));
      throw error;
    }
    return started;
  };
  const startGateways = async () => {
    gateways = await spawnGeneration();
  };
  const startNextGateways = async () => {
    const previous = gateways;
    gateways = await spawnGeneration();
    return async () => {
      await Promise.all(previous.map((g) => g.stop()));
    };
  };
  const stopGateways = async () => {
    await Promise.all(gateways.map((g) => g.stop()));
  };

  try {
    await startGateways();
  } catch (error) {
    await stopGateways();
    if (own) await stopRedis(own);
    throw error;
  }
  return {
    name: 'tether',
    clientKind: 'tether',
    url: `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    redisUrl: redis.url,
    jwtSecret: BENCH_JWT_SECRET,
    processes,
    serverPids: () => gateways.map((g) => g.pid),
    auxPids: () => redis.pids,
    diagnostics: () =>
      gateways
        .map(
          (g, i) =>
            `gateway ${i + 1} ${g.alive ? 'running' : 'exited'}; stderr: ${g.errors.trim().slice(-500)}`,
        )
        .join(' | '),
    collectGarbage: async () => {
      await Promise.all(gateways.map((g) => g.collectGarbage()));
    },
    stopGateways,
    startGateways,
    startNextGateways,
    stop: async () => {
      await stopGateways();
      if (own) await stopRedis(own);
    },
  };
}

/** Whether `system` is Tether with its restart controls (scenarios get a plain RunningSystem). */
export function isTether(system: RunningSystem): system is RunningTether {
  return system.name === 'tether' && 'startGateways' in system;
}

/** The first set is bench-1…; a rolling restart's next set bench-1-2…, so readiness can tell them apart. */
const nodeId = (i: number, generation: number) => `bench-${i + 1}${generation > 1 ? `-${generation}` : ''}`;

function gatewayEnv(port: number, redisUrl: string, node: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_ID: node,
    REDIS_URL: redisUrl,
    REUSE_PORT: 'true', // the processes share one port
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    PUBLISH_API_KEYS: BENCH_PUBLISH_KEY,
    ADMIN_API_KEY: BENCH_ADMIN_KEY,
    LOG_LEVEL: 'warn',
    MAX_CONNECTIONS: '100000',
    ...BENCH_OVERRIDES,
  };
}

/**
 * The NODE_ID of whichever gateway process answers GET /ws/stats, or undefined.
 * A new TCP connection each time (no keep-alive agent), so the kernel picks again.
 */
function statsNode(httpUrl: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpGet(`${httpUrl}/ws/stats`, { agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { node?: string }).node : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export async function stopRedis(redis: RedisServerHandle): Promise<void> {
  try {
    await withTimeout('redis-server stop', redis.stop(), 5000);
  } catch {
    redis.process.kill('SIGKILL');
  }
}
