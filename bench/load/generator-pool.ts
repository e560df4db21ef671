/**
 * The bench's side of the load generators: spawns N generator processes, sends
 * them commands and collects replies, and knows their pids so their CPU can be
 * reported next to the servers'.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '../lib/timing.ts';
import type { Command, Envelope, Replies, ReplyEnvelope } from './commands.ts';

const GENERATOR = fileURLToPath(new URL('./generator.ts', import.meta.url));
/** Sockets per generator: below RLIMIT_NOFILE (20000) with room for everything else. */
export const MAX_SOCKETS_PER_GENERATOR = 15_000;

type ReplyOf<C extends Command> = Replies[C['type']];

class Generator {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ReplyEnvelope) => void>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before ready`)));
      child.on('message', (reply: ReplyEnvelope) => {
        if (reply.id === 0) return resolve();
        this.pending.get(reply.id)?.(reply);
        this.pending.delete(reply.id);
      });
    });
    child.once('exit', () => {
      for (const settle of this.pending.values())
        settle({ id: 0, ok: false, error: 'load generator exited' });
      this.pending.clear();
    });
  }

  send<C extends Command>(command: C, timeoutMs: number): Promise<ReplyOf<C>> {
    const id = this.nextId++;
    const answer = new Promise<ReplyOf<C>>((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.ok ? resolve(reply.result as ReplyOf<C>) : reject(new Error(`generator: ${reply.error}`)),
      );
    });
    this.child.send({ id, command } satisfies Envelope);
    return withTimeout(`generator command ${command.type}`, answer, timeoutMs);
  }
}

export class GeneratorPool {
  private constructor(private readonly generators: Generator[]) {}

  static async start(count: number): Promise<GeneratorPool> {
    const generators = Array.from(
      { length: count },
      () =>
        new Generator(
          fork(GENERATOR, [], {
            execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        ),
    );
    const pool = new GeneratorPool(generators);
    try {
      await withTimeout('load generators to start', Promise.all(generators.map((g) => g.ready)), 30_000);
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.generators.length;
  }

  pids(): number[] {
    return this.generators.map((g) => g.child.pid as number);
  }

  /** Send `command(i)` to every generator at once; replies in generator order. */
  all<C extends Command>(
    command: (index: number) => C | undefined,
    timeoutMs: number,
  ): Promise<ReplyOf<C>[]> {
    return Promise.all(
      this.generators.flatMap((g, i) => {
        const c = command(i);
        return c ? [g.send(c, timeoutMs)] : [];
      }),
    );
  }

  one<C extends Command>(index: number, command: C, timeoutMs: number): Promise<ReplyOf<C>> {
    const generator = this.generators[index];
    if (!generator) throw new Error(`no generator ${index}`);
    return generator.send(command, timeoutMs);
  }

  /** `total` split as evenly as possible over the generators. */
  split(total: number): number[] {
    const base = Math.floor(total / this.size);
    return this.generators.map((_, i) => base + (i < total % this.size ? 1 : 0));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.generators.map(
        (g) =>
          new Promise<void>((resolve) => {
            if (g.child.exitCode !== null || g.child.signalCode !== null) return resolve();
            const timer = setTimeout(() => g.child.kill('SIGKILL'), 10_000);
            g.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            g.child.kill('SIGTERM');
          }),
      ),
    );
  }
}
