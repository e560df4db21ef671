/**
 * Idempotent publish (issue 15): what an `idempotencyKey` costs per message. On one
 * Tether gateway, two groups of relay clients take turns at the same fixed offered
 * load — one publishes plainly, the other gives every publish a fresh key (so each
 * one pays the key check and the SET PX in the append script, and none is a repeat).
 * Gateway CPU and Redis CPU per message for each, and their ratio, measured in the
 * same run on the same process: cpu_us_per_msg_{plain,keyed}[_with_redis].
 *
 * Runs only when named: `npm run bench -- --quick --scenario idempotency`.
 */
import { progress } from '../lib/progress.ts';
import { round, sum } from '../lib/stats.ts';
import type { RelayOpenCommand } from '../load/commands.ts';
import type { RunningSystem } from '../systems/system.ts';
import {
  closeGroup,
  connectGroup,
  measure,
  noteResolution,
  pooledPerOp,
  type Scenario,
  type ScenarioContext,
  withSystem,
} from './scenario.ts';

const SCENARIO = 'idempotency';
const SIZES = {
  quick: { clients: 100, rate: 2000, trials: 4, trialMs: 1500, warmUpMs: 500 },
  full: { clients: 100, rate: 2000, trials: 6, trialMs: 4000, warmUpMs: 1000 },
};
const VARIANTS = ['plain', 'keyed'] as const;

export const idempotencyScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    const named = ctx.options.scenarios.some((filter) => SCENARIO.startsWith(filter));
    if (!named || !ctx.options.systems.includes('tether')) return;
    await withSystem(ctx, SCENARIO, 'tether', (system) => keyedVersusPlain(ctx, system));
  },
};

async function keyedVersusPlain(ctx: ScenarioContext, system: RunningSystem): Promise<void> {
  const size = ctx.options.quick ? SIZES.quick : SIZES.full;
  const { pool, sink } = ctx;
  for (const variant of VARIANTS) {
    progress(SCENARIO, 'tether', `connecting ${size.clients} ${variant} clients`);
    const ready = await connectGroup(ctx, system, `idem-${variant}`, size.clients, {
      relay: true,
      idempotencyKeys: variant === 'keyed',
    });
    if (ready.connected < size.clients)
      throw new Error(`only ${ready.connected} connected: ${ready.firstError}`);
  }
  const counts = pool.split(size.clients);
  const openLoop = (variant: string, durationMs: number) =>
    pool.all<RelayOpenCommand>(
      (i) =>
        (counts[i] ?? 0) > 0
          ? {
              type: 'relay-open',
              group: `idem-${variant}`,
              ratePerS: (size.rate * (counts[i] ?? 0)) / size.clients,
              durationMs,
              graceMs: 3000,
              recordLatency: false,
            }
          : undefined,
      durationMs * 3 + 30_000,
    );
  for (const variant of VARIANTS) {
    progress(SCENARIO, 'tether', `warm-up, ${variant}`);
    await openLoop(variant, size.warmUpMs);
  }
  const cpu = { plain: [] as number[], keyed: [] as number[] };
  const redis = { plain: [] as number[], keyed: [] as number[] };
  const back = { plain: [] as number[], keyed: [] as number[] };
  // Interleaved, so a noisy moment on this shared box hurts both variants alike, and in
  // alternating order (plain first, then keyed first): which one went second showed in
  // the figures of a first version.
  for (let t = 1; t <= size.trials; t++) {
    for (const variant of t % 2 === 1 ? VARIANTS : [...VARIANTS].reverse()) {
      progress(SCENARIO, 'tether', `${size.rate}/s, ${variant}, trial ${t}/${size.trials}`);
      const m = await measure(system, pool, () => openLoop(variant, size.trialMs));
      cpu[variant].push(m.serverUs);
      redis[variant].push(m.auxUs);
      back[variant].push(sum(m.result.map((r) => r.received)));
    }
  }
  for (const variant of VARIANTS) {
    const perMsg = pooledPerOp(cpu[variant], back[variant]);
    const withRedis = pooledPerOp(
      cpu[variant].map((us, i) => us + (redis[variant][i] ?? 0)),
      back[variant],
    );
    sink.add(SCENARIO, 'tether', `cpu_us_per_msg_${variant}`, round(perMsg), 'µs');
    sink.add(SCENARIO, 'tether', `cpu_us_per_msg_${variant}_with_redis`, round(withRedis), 'µs');
    sink.add(
      SCENARIO,
      'tether',
      `redis_cpu_us_per_msg_${variant}`,
      round(pooledPerOp(redis[variant], back[variant])),
      'µs',
    );
    noteResolution(ctx, SCENARIO, 'tether', `cpu_us_per_msg_${variant}`, sum(cpu[variant]));
  }
  const ratio = (of: Record<string, number[]>) =>
    pooledPerOp(of.keyed ?? [], back.keyed) / pooledPerOp(of.plain ?? [], back.plain);
  sink.add(SCENARIO, 'tether', 'keyed_to_plain_gateway_cpu', round(ratio(cpu)), '×');
  sink.add(SCENARIO, 'tether', 'keyed_to_plain_redis_cpu', round(ratio(redis)), '×');
  for (const variant of VARIANTS) await closeGroup(ctx, `idem-${variant}`);
}
