/**
 * A real gateway process (this checkout's src/main.ts, bundled for the run by
 * test/support/global-process-bundles.ts, or another command such as `npm start`), for what an in-process gateway cannot show: SIGKILL, SIGTERM, exit
 * codes, start-up refusals. Ready when its JSON log says "listening" (the port is read
 * from that line).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { testEnv } from './gateway.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Generous: a start on a busy 2-core box can take seconds.
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
/** For tests that start processes: starting processes on a loaded box can take far past the default 30 s. */
export const PROCESS_TEST_TIMEOUT_MS = 150_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** The SSE fallback's endpoint (`GET /sse`, frames to `/sse/frames`). */
  readonly sseUrl: string;
  readonly http: string;
  readonly exited: Promise<Exit>;
  stderr(): string;
  /** Parsed JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  /** Send `signal` and wait for the exit (SIGKILL after a bounded wait). */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

/** For a crowd of sockets from one address and one user: the per-IP and per-user limits are not under test. */
export const CROWD_LIMITS_OFF = {
  RATE_CONNECT_PER_IP: '0',
  RATE_CONNECT_PER_USER: '0',
  MAX_CONNECTIONS_PER_IP: '0',
  MAX_CONNECTIONS_PER_USER: '0',
};

/** Environment for a child: nothing inherited but PATH/HOME, so no stray AUTH_* leaks in. */
export function processEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...testEnv({ LOG_LEVEL: 'info', REDIS_URL: inject('redisUrl') }),
    ...overrides,
  };
}

/** The gateway from this checkout's sources. */
const fromSource = (): readonly string[] => [
  process.execPath,
  '--enable-source-maps',
  inject('processBundles').gateway,
];

/**
 * Start a process and resolve once it listens; rejects (with its stderr) if it exits first.
 * @param command - program and arguments, run in the repository root
 */
export function spawnGateway(
  env: Record<string, string>,
  [program, ...args]: readonly string[] = fromSource(),
): Promise<GatewayProcess> {
  const child = spawn(program as string, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // 'close', not 'exit': by then stderr has been read to the end.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stderr })),
  );

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not log "listening" within ${READY_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(handle(child, entry.port, exited, () => stderr, logs));
        }
      }
    });
    exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${exit.code ?? exit.signal}) before listening; stderr: ${stderr}`));
    });
  });
}

function handle(
  child: ChildProcess,
  port: number,
  exited: Promise<Exit>,
  stderr: () => string,
  logs: Record<string, unknown>[],
): GatewayProcess {
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    http: `http://127.0.0.1:${port}`,
    exited,
    stderr,
    logs: () => logs,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/** Run a process that is expected to exit on its own (a refused start-up); bounded. */
export async function runToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<Exit> {
  const [program, ...args] = fromSource();
  const child = spawn(program as string, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  return { code, signal, stderr };
}
