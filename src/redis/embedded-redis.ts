/**
 * The embedded default: with REDIS_URL unset, use 127.0.0.1:6379 if it answers,
 * else start a private `redis-server` from PATH, owned and stopped by this process
 * (REDIS_URL=embedded: always the private one). The gateway gives it a data folder
 * and an append-only file (src/redis/redis-data-dir.ts), so a restart loses nothing;
 * the tests also start throwaway ones (temp dir, no persistence) they can kill.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, lockDataDir } from './redis-data-dir.ts';

export interface RedisServerHandle {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** true when something answers PING at host:port within `timeoutMs`. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface StartRedisOptions {
  /** @defaultValue a free port on 127.0.0.1 */
  port?: number;
  /** Reuse a data directory (with `appendonly`) to test restarts that keep data. @defaultValue a new temp dir, removed on stop */
  dir?: string;
  /** AOF with fsync always: what a deployment that must not lose accepted events runs. @defaultValue false */
  appendOnly?: boolean;
  /** The PATH `redis-server` is looked up in. @defaultValue this process's PATH */
  searchPath?: string;
}

const INSTALL_HINT =
  'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:port.';

export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tether-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push(
    ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  const ownsDir = options.dir === undefined;
  const removeDir = () => {
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
  };
  const env = options.searchPath === undefined ? process.env : { ...process.env, PATH: options.searchPath };
  const child = spawn('redis-server', args, { stdio: 'ignore', env });
  // Not found on PATH (spawn error) or exited at once (a bad flag, a taken port): stop waiting.
  const failure = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (code, signal) => resolve(`it exited with ${signal ?? `code ${code}`}`));
  });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([failure, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (failed) {
      removeDir();
      throw new RedisUnavailableError(`could not start redis-server (${failed}). ${INSTALL_HINT}`);
    }
    if (await redisAnswers('127.0.0.1', port)) break;
  }
  if (!(await redisAnswers('127.0.0.1', port))) {
    child.kill('SIGKILL');
    removeDir();
    throw new RedisUnavailableError(
      `redis-server did not answer on port ${port} within 5 s; set REDIS_URL=redis://host:port to use another Redis.`,
    );
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        const finish = () => {
          removeDir();
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        child.once('exit', finish);
        child.kill('SIGTERM');
      }),
  };
}

export interface ResolveRedisOptions {
  /** Where a local Redis is looked for. @defaultValue `{ host: '127.0.0.1', port: 6379 }` */
  local?: { host: string; port: number };
  /** How the private redis-server is started when no local one answers. */
  server?: StartRedisOptions;
  /**
   * The private server's data folder, kept across restarts (append-only file, fsync
   * always) and locked against a second gateway. @defaultValue none: a temp dir, no persistence
   */
  dataDir?: string;
}

/** REDIS_URL's value that asks for the private redis-server even when 6379 answers. */
export const EMBEDDED = 'embedded';

export interface ResolvedRedis {
  url: string;
  source: 'configured' | 'local' | 'private';
  /** The private server, when one was started: stop it with the service. */
  server?: RedisServerHandle;
}

/** Resolve the Redis to use: configured, else local default, else a private one. */
export async function resolveRedis(
  configuredUrl: string | undefined,
  options: ResolveRedisOptions = {},
): Promise<ResolvedRedis> {
  if (configuredUrl && configuredUrl !== EMBEDDED) return { url: configuredUrl, source: 'configured' };
  const { host, port } = options.local ?? { host: '127.0.0.1', port: 6379 };
  if (!configuredUrl && (await redisAnswers(host, port)))
    return { url: `redis://${host}:${port}`, source: 'local' };
  if (options.dataDir === undefined) {
    const server = await startRedisServer(options.server);
    return { url: server.url, source: 'private', server };
  }
  const lock = await lockDataDir(options.dataDir).catch((error: unknown) => {
    throw error instanceof DataDirInUseError ? new RedisUnavailableError(error.message) : error;
  });
  let server: RedisServerHandle;
  try {
    server = await startRedisServer({ ...options.server, dir: lock.dir, appendOnly: true });
  } catch (error) {
    lock.release();
    throw error;
  }
  lock.serving(server.port);
  const stopServer = server.stop;
  return {
    url: server.url,
    source: 'private',
    server: { ...server, stop: () => stopServer().finally(lock.release) },
  };
}
