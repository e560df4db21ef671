/**
 * Scale: as many idle Tether connections as several gateway processes sharing one
 * port (SO_REUSEPORT) and one Redis will hold — the aim is 100K on this box. One
 * process holds < 20K sockets (RLIMIT_NOFILE), so 7 gateways and 7 generator
 * processes of its own (≤ 15K sockets each); every step binds fresh source
 * addresses in 127.0.0.0/8, so no address runs out of ephemeral ports.
 * Connects in steps until the aim, the time budget, or a step that mostly fails:
 * it reports what it held and why it stopped.
 *   connections_held   still open after a 5 s hold
 *   rss_bytes_per_conn gateway memory (scenarios/memory.ts) per held connection
 * Full run only: --quick skips it unless asked for by name, then runs a small one.
 */
import { progress } from '../lib/progress.ts';
import { round, sum } from '../lib/stats.ts';
import { sleep } from '../lib/timing.ts';
import { GeneratorPool, MAX_SOCKETS_PER_GENERATOR } from '../load/generator-pool.ts';
import type { RunningSystem } from '../systems/system.ts';
import { MEMORY_NODE_ARGS, readMemory } from './memory.ts';
import { closeGroup, connectGroup, type Scenario, type ScenarioContext, withSystem } from './scenario.ts';

const SIZES = {
  quick: { aim: 4000, gateways: 2, step: 2000, budgetMs: 60_000 },
  full: { aim: 100_000, gateways: 7, step: 10_000, budgetMs: 6 * 60_000 },
};
const SCENARIO = 'scale';
const GROUP = 'scale';
const HOLD_MS = 5000;

export const scaleScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    const askedByName = ctx.options.scenarios.length > 0;
    if (ctx.options.quick && !askedByName) {
      ctx.sink.note(
        SCENARIO,
        'tether',
        'skipped in --quick (holding 100K connections takes minutes): run the full bench, or `--quick --scenario scale` for a small version',
      );
      return;
    }
    if (!ctx.options.systems.includes('tether')) return;
    const size = ctx.options.quick ? SIZES.quick : SIZES.full;
    const generators = Math.max(2, Math.ceil(size.aim / MAX_SOCKETS_PER_GENERATOR));
    progress(SCENARIO, 'tether', `starting ${generators} more load generators`);
    const pool = await GeneratorPool.start(generators);
    try {
      await withSystem(ctx, SCENARIO, 'tether', (system) => hold(ctx, system, pool, size), {
        processes: size.gateways,
        nodeArgs: MEMORY_NODE_ARGS,
      });
    } finally {
      await pool.stop();
    }
  },
};

async function hold(
  ctx: ScenarioContext,
  system: RunningSystem,
  pool: GeneratorPool,
  size: (typeof SIZES)['full'],
): Promise<void> {
  const { sink } = ctx;
  const baseline = await readMemory(system);
  const started = performance.now();
  let held = 0;
  let failed = 0;
  let stoppedBecause = `reached the aim of ${size.aim}`;
  while (held < size.aim) {
    if (performance.now() - started > size.budgetMs) {
      stoppedBecause = `time budget of ${size.budgetMs / 1000} s for connecting spent`;
      break;
    }
    const step = Math.min(size.step, size.aim - held);
    progress(SCENARIO, 'tether', `${held} held; connecting ${step} more over ${size.gateways} gateways`);
    const r = await connectGroup(ctx, system, GROUP, step, { timeoutMs: Math.max(60_000, step * 20) }, pool);
    held += r.connected;
    failed += r.failed;
    if (r.connected < step / 2) {
      stoppedBecause = `a step connected only ${r.connected} of ${step} (${r.firstError})`;
      break;
    }
  }
  const connectMs = performance.now() - started;
  progress(SCENARIO, 'tether', `holding ${held} for ${HOLD_MS / 1000} s`);
  await sleep(HOLD_MS);
  const counts = await pool.all(() => ({ type: 'count-open', group: GROUP }), 30_000);
  const open = sum(counts.map((r) => r.open));
  progress(SCENARIO, 'tether', `${open} still open; reading memory`);
  const memory = await readMemory(system);
  sink.add(SCENARIO, 'tether', 'connections_held', open, 'connections');
  sink.add(SCENARIO, 'tether', 'gateways', size.gateways, 'processes');
  sink.add(
    SCENARIO,
    'tether',
    'rss_bytes_per_conn',
    round((memory.serverBytes - baseline.serverBytes) / open),
    'B',
  );
  sink.add(
    SCENARIO,
    'tether',
    'redis_rss_bytes_per_conn',
    round((memory.auxBytes - baseline.auxBytes) / open),
    'B',
  );
  sink.add(SCENARIO, 'tether', 'connects_per_s', round((held / connectMs) * 1000), '/s');
  sink.note(SCENARIO, 'tether', `stopped connecting: ${stoppedBecause}; ${failed} connects failed`);
  if (open < held) {
    const reasons = new Map<string, number>();
    for (const r of counts)
      for (const [why, n] of Object.entries(r.closed)) reasons.set(why, (reasons.get(why) ?? 0) + n);
    const listed = [...reasons].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} × ${why}`);
    sink.note(SCENARIO, 'tether', `${held - open} connections closed before the count: ${listed.join(', ')}`);
  }
  progress(SCENARIO, 'tether', `closing ${open} connections`);
  await closeGroup(ctx, GROUP, pool);
}
