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
  /** Lines on stderr and fatal/error log lines: an uncaught exception shows up here. */
  readonly problems: string[] = [];
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

  /** Spawn and resolve once it logs "listening"; rejects if it exits first or takes too long. */
  start(): Promise<void> {
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
    let partial = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.name} did not log "listening" within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      child.stderr?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        this.problems.push(...chunk.toString().split('\n').filter(Boolean).slice(0, 20));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.includes('"msg":"listening"')) {
            clearTimeout(timer);
            resolve();
          }
          if (/"level":(50|60)/.test(line) && this.problems.length < 200)
            this.problems.push(line.slice(0, 500));
        }
      });
      child.once('close', (code, signal) => {
        log.end();
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before listening`));
      });
    });
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
