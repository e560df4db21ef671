/**
 * One server under test as a child process: spawned with the gc preload, its
 * stderr tail kept for error messages, stopped with SIGTERM (then SIGKILL), and
 * its pid exposed so /proc can be read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../lib/timing.ts';
import { GC_REPORT_PREFIX, GC_SIGNAL, gcReportPath, readGcReport } from './gc-signal.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GC_PRELOAD = fileURLToPath(new URL('./gc-on-signal.mjs', import.meta.url));

export interface ServerProcessOptions {
  /** Script path (absolute, or relative to the repo root). */
  script: string;
  env: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Resolves true once the server is ready; polled. Default: a READY line on stdout. */
  ready?: () => Promise<boolean>;
  /** @defaultValue 30000 */
  readyTimeoutMs?: number;
  label: string;
}

export class ServerProcess {
  private readonly child: ChildProcess;
  private stderrTail = '';
  private sawReadyLine = false;
  private exited = false;

  private constructor(private readonly options: ServerProcessOptions) {
    const args = [
      '--expose-gc',
      ...(options.nodeArgs ?? []),
      // A JavaScript server (Tether's dist/) runs as `npm start` runs it: no TypeScript loader.
      ...(options.script.endsWith('.js') ? [] : ['--import', 'tsx']),
      '--import',
      GC_PRELOAD,
      options.script,
    ];
    this.child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        BENCH_GC_SIGNAL: GC_SIGNAL,
        BENCH_GC_REPORT_PREFIX: GC_REPORT_PREFIX,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) this.sawReadyLine = true;
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    this.child.once('exit', () => {
      this.exited = true;
      // The server cannot always remove its GC report itself (SIGTERM's default action skips exit handlers).
      if (this.child.pid) rmSync(gcReportPath(this.child.pid), { force: true });
    });
  }

  /** Spawn without waiting; see `waitReady`. */
  static spawn(options: ServerProcessOptions): ServerProcess {
    return new ServerProcess(options);
  }

  /** Spawn and wait until ready (a READY line on stdout unless `options.ready` says otherwise). */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options);
    await server.waitReady(options.ready ?? (async () => server.sawReadyLine), options.readyTimeoutMs);
    return server;
  }

  /** Poll `ready` until true; throws (and stops the process) if it exits first or the time runs out. */
  async waitReady(ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    try {
      await waitUntil(
        `${this.options.label} to be ready`,
        async () => {
          if (this.exited) throw new Error(`${this.options.label} exited: ${this.stderrTail.trim()}`);
          return ready();
        },
        timeoutMs,
        50,
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return !this.exited;
  }

  get errors(): string {
    return this.stderrTail;
  }

  /** Full GC in the server (gc-on-signal preload); resolves when it is done. */
  async collectGarbage(): Promise<void> {
    if (this.exited) return;
    const before = readGcReport(this.pid).collections;
    this.child.kill(GC_SIGNAL);
    // A GC of a heap of several hundred MB takes a while on a busy box; bounded all the same.
    const done = () => readGcReport(this.pid).collections > before;
    await waitUntil(`${this.options.label} to finish a GC`, done, 15_000, 10);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
