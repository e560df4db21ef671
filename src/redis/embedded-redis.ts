/**
 * The embedded default: with REDIS_URL unset, use 127.0.0.1:6379 if it answers,
 * else start a private `redis-server` from PATH (no persistence, temp dir), owned
 * and stopped by this process. Also used by the tests to get Redis they can kill.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  port?: number;
  /** Reuse a data directory (with `appendonly`) to test restarts that keep data. */
  dir?: string;
  /** AOF with fsync always: what a deployment that must not lose accepted events runs. */
  appendOnly?: boolean;
}

export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tether-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push(
    ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (failed) {
      throw new RedisUnavailableError(
        `Could not start redis-server (${failed.message}). Install it (Debian: apt-get install redis-server) or set REDIS_URL=redis://host:port.`,
      );
    }
    if (await redisAnswers('127.0.0.1', port)) break;
  }
  if (!(await redisAnswers('127.0.0.1', port))) {
    child.kill('SIGKILL');
    throw new RedisUnavailableError(`redis-server did not answer on port ${port} within 5 s.`);
  }
  const ownsDir = options.dir === undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        const finish = () => {
          if (ownsDir) rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        child.once('exit', finish);
        child.kill('SIGTERM');
      }),
  };
}

/** Resolve the Redis to use: configured, else local default, else a private one. */
export async function resolveRedis(
  configuredUrl: string | undefined,
): Promise<{ url: string; source: 'configured' | 'local' | 'private'; server?: RedisServerHandle }> {
  if (configuredUrl) return { url: configuredUrl, source: 'configured' };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', source: 'local' };
  const server = await startRedisServer();
  return { url: server.url, source: 'private', server };
}
