/**
 * The embedded redis-server's data folder (REDIS_DATA_DIR), held by one gateway at
 * a time: two redis-servers appending to one append-only file would corrupt it.
 *
 * A lock file names the gateway that holds the folder and its Redis's port. A lock
 * whose gateway is gone is stale; its redis-server may still run (a gateway killed
 * with SIGKILL leaves its child behind), and it is shut down before a new one starts
 * on the same files — SHUTDOWN flushes the append-only file first, so nothing is lost.
 */
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const LOCK_FILE = 'tether.lock';

interface LockRecord {
  pid: number;
  port?: number;
}

export interface DataDirLock {
  /** The folder's absolute path (what the start-up log prints). */
  readonly dir: string;
  /** Record the port of the redis-server now serving the folder. */
  serving(port: number): void;
  release(): void;
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Take the folder (created if missing); throws DataDirInUseError while another live gateway holds it. */
export async function lockDataDir(folder: string): Promise<DataDirLock> {
  mkdirSync(folder, { recursive: true });
  const dir = realpathSync(folder);
  const file = join(dir, LOCK_FILE);
  const held = readLock(file);
  if (held && held.pid !== process.pid && alive(held.pid)) {
    const share = held.port ? ` Set REDIS_URL=redis://127.0.0.1:${held.port} to share its Redis, or` : '';
    throw new DataDirInUseError(
      `the embedded Redis data folder ${dir} is in use by Tether process ${held.pid}.${share} set REDIS_DATA_DIR to another folder.`,
    );
  }
  if (held?.port) await shutDownOrphan(held.port, dir);
  const write = (record: LockRecord) => writeFileSync(file, JSON.stringify(record));
  write({ pid: process.pid });
  return {
    dir,
    serving: (port) => write({ pid: process.pid, port }),
    release: () => {
      if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

/**
 * The port of the redis-server a live gateway serves `folder` with, if one does: how
 * `tether token` finds the embedded Redis of the gateway running from this folder.
 */
export function servingPort(folder: string): number | undefined {
  let dir: string;
  try {
    dir = realpathSync(folder);
  } catch {
    return undefined; // no such folder: no gateway ever served it
  }
  const held = readLock(join(dir, LOCK_FILE));
  return held?.port !== undefined && alive(held.pid) ? held.port : undefined;
}

function readLock(file: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockRecord;
  } catch {
    return undefined; // none, or half-written by a gateway killed while writing it
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stop the redis-server a dead gateway left on `port`, if it is the one serving `dir`. */
async function shutDownOrphan(port: number, dir: string): Promise<void> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {}); // nothing there, or the SHUTDOWN below closing the connection
  try {
    if (
      !(await redis.connect().then(
        () => true,
        () => false,
      ))
    )
      return;
    const [, servedDir] = (await redis.config('GET', 'dir')) as [string, string];
    if (servedDir !== dir) return; // the port was reused by another server: not ours to stop
    await redis.shutdown().catch(() => {}); // the reply is the connection closing
  } finally {
    redis.disconnect();
  }
  // The reply comes before the process exits: wait until its port is closed.
  for (const deadline = Date.now() + 5000; Date.now() < deadline && (await portOpen(port)); )
    await new Promise((resolve) => setTimeout(resolve, 50));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
