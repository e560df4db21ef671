/**
 * Idle memory and connection set-up cost, on one server per system, climbing a
 * ladder of connection counts:
 *   idle-memory:  rss_bytes_per_conn_<n> = (memory with n idle connections − memory
 *                 before any) / n, memory as scenarios/memory.ts reads it (RSS after
 *                 a full GC, young generation excluded);
 *   connect-cost: cpu_us_per_connect_at_<n> = server CPU to add a batch of
 *                 connections with n already held (Tether: JWT verify, actor,
 *                 Redis session write), on a warmed-up process. Flat from 1K to
 *                 15K = no O(n) per connect. cpu_us_per_connect_cold = the first
 *                 1,000 connections after start-up's 200 (JIT and heap warm-up
 *                 included; reported, not a target).
 * A Tether connection counts once its welcome arrived; a Socket.IO one once its
 * handshake completed; a bare one once the WebSocket upgrade completed.
 */

import { progress } from '../lib/progress.ts';
import { round, sum } from '../lib/stats.ts';
import { sleep } from '../lib/timing.ts';
import type { RunningSystem } from '../systems/system.ts';
import { MEMORY_NODE_ARGS, readMemory } from './memory.ts';
import {
  closeGroup,
  connectGroup,
  measure,
  noteResolution,
  pooledPerOp,
  type Scenario,
  type ScenarioContext,
  systemsFor,
  withSystem,
} from './scenario.ts';

/** Memory is read at each of `levels`; `batches` × `batch` connections are timed at each of `costAt`. */
const SIZES = {
  quick: { levels: [1000, 2000], costAt: [1000, 2000], batch: 250, batches: 2 },
  full: { levels: [1000, 5000, 15_000], costAt: [1000, 15_000], batch: 1000, batches: 3 },
};
/** Connections opened and closed before the memory baseline, so lazy start-up work is not billed to the first 1K. */
const WARM_UP = 200;
/**
 * Connections opened and closed after the memory baseline, before any cost is read: the
 * first 1,000 measure the cold process. Per-connect CPU falls for about 3,000 connections
 * after start (V8 optimizing the hot path, the heap growing to size) and is flat after;
 * with only WARM_UP before it, "at 1K" mostly measured that fall. The residue these leave
 * can only raise the memory read at 1K, never lower it.
 */
const COLD_BATCH = 1000;
const COST_WARM_UP = 3000;

export const connectionScenarios: Scenario = {
  names: ['idle-memory', 'connect-cost'],
  async run(ctx) {
    for (const name of systemsFor(ctx, ['uws-raw', 'tether', 'tether-ws', 'tether-sse', 'socketio', 'ws'])) {
      await withSystem(ctx, 'connections', name, (system) => ladder(ctx, system), {
        nodeArgs: MEMORY_NODE_ARGS,
      });
    }
  },
};

const label = (n: number) => `${n / 1000}k`;

async function ladder(ctx: ScenarioContext, system: RunningSystem): Promise<void> {
  const size = ctx.options.quick ? SIZES.quick : SIZES.full;
  const { sink, pool } = ctx;
  const name = system.name;
  const connect = async (count: number, group: string) => {
    const r = await connectGroup(ctx, system, group, count, { timeoutMs: Math.max(60_000, count * 10) });
    if (r.connected < count) throw new Error(`only ${r.connected} of ${count} connected: ${r.firstError}`);
    return r;
  };

  progress('connections', name, `warm-up (${WARM_UP} connections opened and closed)`);
  await connect(WARM_UP, 'warm-up');
  await closeGroup(ctx, 'warm-up');
  await sleep(500);
  const baseline = await readMemory(system);
  await coldStart(ctx, system, connect);

  let held = 0;
  const points = [...new Set([...size.levels, ...size.costAt])].sort((a, b) => a - b);
  for (const level of points) {
    progress('connections', name, `connecting up to ${level}`);
    if (level > held) await connect(level - held, 'idle');
    held = Math.max(held, level);
    if (size.levels.includes(level)) {
      progress('connections', name, `reading memory with ${held} connections`);
      await sleep(500);
      const now = await readMemory(system);
      const perConn = (now.serverBytes - baseline.serverBytes) / held;
      sink.add('idle-memory', name, `rss_bytes_per_conn_${label(level)}`, round(perConn), 'B');
      if (system.auxPids().length > 0) {
        const auxPerConn = (now.auxBytes - baseline.auxBytes) / held;
        sink.add('idle-memory', name, `redis_rss_bytes_per_conn_${label(level)}`, round(auxPerConn), 'B');
      }
    }
    if (!size.costAt.includes(level)) continue;

    const serverUs: number[] = [];
    const auxUs: number[] = [];
    const generatorUs: number[] = [];
    const added: number[] = [];
    let wallMs = 0;
    for (let b = 1; b <= size.batches; b++) {
      progress(
        'connections',
        name,
        `connect cost at ${held} held: batch ${b}/${size.batches} of ${size.batch}`,
      );
      const m = await measure(system, pool, () => connect(size.batch, 'idle'));
      serverUs.push(m.serverUs);
      auxUs.push(m.auxUs);
      generatorUs.push(m.generatorUs);
      added.push(m.result.connected);
      wallMs += m.wallMs;
      held += m.result.connected;
    }
    const metric = `cpu_us_per_connect_at_${label(level)}`;
    sink.add('connect-cost', name, metric, round(pooledPerOp(serverUs, added)), 'µs');
    noteResolution(ctx, 'connect-cost', name, metric, sum(serverUs));
    if (system.auxPids().length > 0)
      sink.add('connect-cost', name, `redis_${metric}`, round(pooledPerOp(auxUs, added)), 'µs');
    sink.add('connect-cost', name, `generator_${metric}`, round(pooledPerOp(generatorUs, added)), 'µs');
    sink.add(
      'connect-cost',
      name,
      `connects_per_s_at_${label(level)}`,
      round((sum(added) / wallMs) * 1000),
      '/s',
    );
  }
  progress('connections', name, `closing ${held} connections`);
  await closeGroup(ctx, 'idle');
}

/** The cold process's cost (the first COLD_BATCH connections), then the rest of the cost warm-up. */
async function coldStart(
  ctx: ScenarioContext,
  system: RunningSystem,
  connect: (count: number, group: string) => Promise<unknown>,
): Promise<void> {
  const name = system.name;
  progress('connections', name, `cold start: the first ${COLD_BATCH} connections`);
  const cold = await measure(system, ctx.pool, () => connect(COLD_BATCH, 'cost-warm-up'));
  ctx.sink.add('connect-cost', name, 'cpu_us_per_connect_cold', round(cold.serverUs / COLD_BATCH), 'µs');
  noteResolution(ctx, 'connect-cost', name, 'cpu_us_per_connect_cold', cold.serverUs);
  await closeGroup(ctx, 'cost-warm-up');
  for (let done = COLD_BATCH; done < COST_WARM_UP; done += COLD_BATCH) {
    progress(
      'connections',
      name,
      `warm-up: ${done + COLD_BATCH}/${COST_WARM_UP} connections opened and closed`,
    );
    await connect(COLD_BATCH, 'cost-warm-up');
    await closeGroup(ctx, 'cost-warm-up');
  }
  await sleep(500);
}
