/**
 * What every scenario gets (options, the result sink, the shared load generators)
 * and the helpers they share: start a system for the length of a callback, connect
 * a group of clients across the generators, and measure CPU around a step.
 */
import { join } from 'node:path';
import type { BenchOptions, SystemName } from '../lib/options.ts';
import { CLK_TCK, CpuMeter } from '../lib/proc-stats.ts';
import { progress } from '../lib/progress.ts';
import type { ResultSink } from '../lib/results.ts';
import { allocateSourceAddresses } from '../lib/source-addresses.ts';
import type { ConnectCommand } from '../load/commands.ts';
import type { GeneratorPool } from '../load/generator-pool.ts';
import { PROFILES_DIR } from '../report/profile-summary.ts';
import { startSystem } from '../systems/start-system.ts';
import type { RunningSystem, StartOptions } from '../systems/system.ts';

export interface ScenarioContext {
  options: BenchOptions;
  sink: ResultSink;
  pool: GeneratorPool;
  /** Whether the run includes this scenario (`--scenario`). */
  selected(scenario: string): boolean;
}

export interface Scenario {
  /** The scenario names this module reports under; `--scenario` selects a module by any of them. */
  names: string[];
  run(ctx: ScenarioContext): Promise<void>;
}

/** Start `name`, run `body`, and always stop it; a failure becomes a note, not a crashed run. */
export async function withSystem(
  ctx: ScenarioContext,
  scenario: string,
  name: SystemName,
  body: (system: RunningSystem) => Promise<void>,
  startOptions: StartOptions = {},
): Promise<void> {
  progress(scenario, name, 'starting server');
  let system: RunningSystem | undefined;
  try {
    const profile = ctx.options.cpuProf && name === 'tether';
    system = await startSystem(name, {
      ...(profile ? { cpuProfDir: join(PROFILES_DIR, scenario) } : {}),
      ...startOptions,
    });
    await body(system);
  } catch (error) {
    ctx.sink.note(
      scenario,
      name,
      `failed: ${firstLine(error)}${system ? ` — server: ${system.diagnostics()}` : ''}`,
    );
  } finally {
    progress(scenario, name, 'stopping');
    await system?.stop();
  }
}

/**
 * Start every one of `names` at once (each with its own ports and redis-server),
 * run `body` with those that started, and always stop them all; a failure becomes a
 * note, as in withSystem. For scenarios that
 * interleave their trials across systems, so a drift in the box's speed lands on
 * every system alike instead of on whichever ran during it.
 */
export async function withSystems(
  ctx: ScenarioContext,
  scenario: string,
  names: readonly SystemName[],
  body: (systems: RunningSystem[], failed: (system: RunningSystem, error: unknown) => void) => Promise<void>,
): Promise<void> {
  const running: RunningSystem[] = [];
  const failed = (system: RunningSystem, error: unknown) =>
    ctx.sink.note(scenario, system.name, `failed: ${firstLine(error)} — server: ${system.diagnostics()}`);
  try {
    for (const name of names) {
      progress(scenario, name, 'starting server');
      try {
        const profile = ctx.options.cpuProf && name === 'tether';
        running.push(await startSystem(name, profile ? { cpuProfDir: join(PROFILES_DIR, scenario) } : {}));
      } catch (error) {
        ctx.sink.note(scenario, name, `failed: ${firstLine(error)}`);
      }
    }
    await body(running, failed);
  } catch (error) {
    ctx.sink.note(scenario, names.join(', '), `failed: ${firstLine(error)}`);
  } finally {
    for (const system of running) {
      progress(scenario, system.name, 'stopping');
      await system.stop();
    }
  }
}

const firstLine = (error: unknown) => (error as Error).message.split('\n')[0];

let groupSeq = 0;

/** Connect `total` clients of `system`, split over the generators; returns how many are ready. */
export async function connectGroup(
  ctx: ScenarioContext,
  system: RunningSystem,
  group: string,
  total: number,
  extra: Partial<
    Pick<ConnectCommand, 'subscribe' | 'relay' | 'idempotencyKeys' | 'wire' | 'concurrency' | 'timeoutMs'>
  > = {},
  pool: GeneratorPool = ctx.pool,
): Promise<{ connected: number; failed: number; firstError?: string; ms: number }> {
  const counts = pool.split(total);
  const seq = ++groupSeq;
  const timeoutMs = extra.timeoutMs ?? 60_000;
  const replies = await pool.all(
    (i) =>
      (counts[i] ?? 0) > 0
        ? {
            type: 'connect',
            group,
            kind: system.clientKind,
            url: system.url,
            count: counts[i] as number,
            concurrency: extra.concurrency ?? 50,
            sourceAddresses: allocateSourceAddresses(counts[i] as number),
            userPrefix: `u${seq}g${i}`,
            jwtSecret: system.jwtSecret,
            subscribe: extra.subscribe,
            relay: extra.relay,
            idempotencyKeys: extra.idempotencyKeys,
            wire: extra.wire,
            timeoutMs,
          }
        : undefined,
    timeoutMs + 30_000,
  );
  const connected = replies.reduce((n, r) => n + r.connected, 0);
  const failed = replies.reduce((n, r) => n + r.failed, 0);
  const firstError = replies.find((r) => r.firstError)?.firstError;
  return { connected, failed, firstError, ms: Math.max(...replies.map((r) => r.ms)) };
}

export async function closeGroup(ctx: ScenarioContext, group: string, pool = ctx.pool): Promise<void> {
  await pool.all(() => ({ type: 'close', group, timeoutMs: 10_000 }), 30_000);
}

/** Pool CPU figures over trials: Σ CPU / Σ operations resolves better than per-trial medians at 10 ms ticks. */
export function pooledPerOp(cpuUs: readonly number[], ops: readonly number[]): number {
  const total = ops.reduce((a, b) => a + b, 0);
  return total > 0 ? cpuUs.reduce((a, b) => a + b, 0) / total : Number.NaN;
}

export interface Measured<T> {
  result: T;
  /** CPU µs of the server processes (tether: the gateways). */
  serverUs: number;
  /** CPU µs of auxiliary processes (tether: redis-server). */
  auxUs: number;
  /** CPU µs of the load generators. */
  generatorUs: number;
  /** µs the server's threads were runnable but waited for a core (the box's contention, not the server's work). */
  serverWaitUs: number;
  /** The same for the auxiliary processes (redis-server) and for the generators. */
  auxWaitUs: number;
  generatorWaitUs: number;
  wallMs: number;
}

/** Run `step` and read the CPU every party used meanwhile. */
export async function measure<T>(
  system: RunningSystem,
  pool: GeneratorPool,
  step: () => Promise<T>,
): Promise<Measured<T>> {
  const server = new CpuMeter(system.serverPids());
  const aux = new CpuMeter(system.auxPids());
  const generators = new CpuMeter(pool.pids());
  const result = await step();
  const s = server.read();
  const a = aux.read();
  const g = generators.read();
  return {
    result,
    serverUs: s.totalUs,
    auxUs: a.totalUs,
    generatorUs: g.totalUs,
    serverWaitUs: s.waitUs,
    auxWaitUs: a.waitUs,
    generatorWaitUs: g.waitUs,
    wallMs: s.wallMs,
  };
}

/** CPU readings are whole clock ticks (10 ms at 100 Hz): say so when a figure rests on few of them. */
const MIN_TICKS = 20;
export function noteResolution(
  ctx: ScenarioContext,
  scenario: string,
  system: string,
  metric: string,
  cpuUs: number,
): void {
  const ticks = Math.round((cpuUs * CLK_TCK) / 1_000_000);
  if (ticks < MIN_TICKS)
    ctx.sink.note(
      scenario,
      system,
      `${metric} rests on ${ticks} clock ticks of CPU: coarse (±1 tick per reading)`,
    );
}

/**
 * The generators share this box's cores with the server, so a "saturation" figure
 * may be where the load side ran out, not the server. A single-threaded server
 * that is the limit runs near 100% of a core; below this, say the figure is a
 * lower bound for that system.
 */
const SERVER_BOUND_PCT = 85;
export function noteIfNotServerBound(
  ctx: ScenarioContext,
  scenario: string,
  system: string,
  metric: string,
  serverPct: number,
  generatorPct: number,
): void {
  if (serverPct >= SERVER_BOUND_PCT) return;
  ctx.sink.note(
    scenario,
    system,
    `${metric}: the server used ${Math.round(serverPct)}% of a core (generators ${Math.round(generatorPct)}%): limited by the load side or the box, so a lower bound`,
  );
}

/** CPU as % of one core over a wall time. */
export const cpuPercent = (cpuUs: number, wallMs: number) => (wallMs > 0 ? cpuUs / (wallMs * 10) : 0);

/** Which of the selected systems a scenario measures, in the interleaving order. */
export function systemsFor(ctx: ScenarioContext, supported: readonly SystemName[]): SystemName[] {
  return ctx.options.systems.filter((s) => supported.includes(s));
}
