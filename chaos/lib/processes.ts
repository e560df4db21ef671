/**
 * The processes a fault is injected into: redis-server and gateway processes started
 * from this repository (`node --import tsx src/main.ts`), each with a fixed port so a
 * restart comes back where clients look for it, and signals to kill, stop and continue
 * them. The gateway's JSON log goes to a file under chaos/results/logs/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { sleep } from './progress.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RESULTS = join(ROOT, 'chaos', 'results');
const READY_TIMEOUT_MS = 90_000;

/** A redis-server on a fixed port and data directory, which can be killed and started again. */
export class ChaosRedis {
  private handle: RedisServerHandle | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly appendOnly: boolean,
  ) {}

  static async start(appendOnly: boolean): Promise<ChaosRedis> {
    const redis = new ChaosRedis(await freePort(), mkdtempSync(join(tmpdir(), 'tether-chaos-')), appendOnly);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.handle?.process.pid;
  }

  /** Start (again) on the same port and directory: with AOF the data comes back, without it nothing does. */
  async restart(): Promise<void> {
    this.handle = await startRedisServer({ port: this.port, dir: this.dir, appendOnly: this.appendOnly });
  }

  signal(signal: NodeJS.Signals): void {
    this.handle?.process.kill(signal);
  }

  async kill(): Promise<void> {
    const child = this.handle?.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    this.handle?.process.kill('SIGCONT');
    await this.handle?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One gateway process; `start()` again after a kill brings it back on the same port. */
export class ChaosGateway {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Lines on stderr and fatal log lines: where an uncaught exception shows up. */
  readonly fatal: string[] = [];
  /** The first error-level log lines (the count is in `errorLogs`). */
  readonly problems: string[] = [];
  errorLogs = 0;
  starts = 0;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async create(name: string, env: (port: number) => Record<string, string>): Promise<ChaosGateway> {
    const port = await freePort();
    return new ChaosGateway(name, port, env(port));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawn and resolve once `GET /readyz` answers 200 (any log level); rejects if it exits first. */
  async start(): Promise<void> {
    mkdirSync(join(RESULTS, 'logs'), { recursive: true });
    this.starts++;
    const log = createWriteStream(join(RESULTS, 'logs', `${this.name}.${this.starts}.log`));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.once('close', () => log.end());
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const lines = chunk.toString().split('\n').filter(Boolean);
      if (this.fatal.length < 50) this.fatal.push(...lines.slice(0, 10));
    });
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"level":60') && this.fatal.length < 50) this.fatal.push(line.slice(0, 500));
        if (line.startsWith('{"level":50')) {
          this.errorLogs++;
          if (this.problems.length < 10) this.problems.push(line.slice(0, 300));
        }
      }
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.alive)
        throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      const ready = await fetch(`${this.http}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return;
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`${this.name} was not ready within ${READY_TIMEOUT_MS} ms`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child?.kill(signal);
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a graceful drain), then SIGKILL if it has not exited within 15 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGTERM');
    const exited = await Promise.race([this.exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!exited) await this.kill();
  }
}
