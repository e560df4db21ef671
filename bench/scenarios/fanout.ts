/**
 * Fan-out: one publisher, one channel, 1K and 10K subscribers. Each trial
 * publishes a burst of messages and waits until every subscriber has every one:
 *   deliveries_per_s    = deliveries / (last delivery − first publish)
 *   cpu_us_per_delivery = server CPU over the trial / deliveries
 * Tether's publish goes through Redis (XADD + PUBLISH, one announcement per process), so its
 * redis-server CPU is reported as well.
 */
import { progress } from '../lib/progress.ts';
import { median, round, sum } from '../lib/stats.ts';
import type { RunningSystem } from '../systems/system.ts';
import {
  closeGroup,
  connectGroup,
  cpuPercent,
  measure,
  noteIfNotServerBound,
  noteResolution,
  pooledPerOp,
  type ScenarioContext,
} from './scenario.ts';

export interface FanoutSize {
  subscribers: number;
  /** Messages per burst. */
  burst: number;
  trials: number;
}
/**
 * A full trial lasts about half a second or more at raw uWS's rate (1K × 600 at ~2M
 * deliveries/s, 10K × 100 at ~1M/s): with 200 and 40 it lasted 0.1 s and 0.36 s, and one
 * 10 ms pause of the box moved a system's rate by up to a tenth.
 */
const SIZES: Record<'quick' | 'full', FanoutSize[]> = {
  quick: [{ subscribers: 1000, burst: 100, trials: 3 }],
  full: [
    { subscribers: 1000, burst: 600, trials: 5 },
    { subscribers: 10_000, burst: 100, trials: 5 },
  ],
};
const CHANNEL = 'fanout';

/** Subscriber counts to run, by mode. */
export const fanoutSizes = (quick: boolean) => (quick ? SIZES.quick : SIZES.full);

/** Which clients of the trial had closed, and why: a short trial says whether the gateway shed them. */
async function whoLeft(ctx: ScenarioContext): Promise<string> {
  const parts: string[] = [];
  for (const group of ['pub', 'subs']) {
    const counts = await ctx.pool.all(() => ({ type: 'count-open', group }), 30_000);
    const closed: Record<string, number> = {};
    for (const reply of counts)
      for (const [why, n] of Object.entries(reply.closed)) closed[why] = (closed[why] ?? 0) + n;
    const open = sum(counts.map((r) => r.open));
    const why = Object.entries(closed).map(([reason, n]) => `${n} ${reason}`);
    parts.push(`${group}: ${open} open${why.length > 0 ? `, closed: ${why.join(', ')}` : ''}`);
  }
  return parts.join('; ');
}

const label = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

export async function fanoutOn(ctx: ScenarioContext, system: RunningSystem, size: FanoutSize): Promise<void> {
  const { sink, pool } = ctx;
  const name = system.name;
  const suffix = `_${label(size.subscribers)}`;
  progress('fanout', name, `connecting ${size.subscribers} subscribers`);
  const subs = await connectGroup(ctx, system, 'subs', size.subscribers, {
    subscribe: CHANNEL,
    timeoutMs: Math.max(60_000, size.subscribers * 10), // 10K Tether subscribers on a busy box: ~30 s
  });
  if (subs.connected < size.subscribers)
    throw new Error(`only ${subs.connected} subscribed: ${subs.firstError}`);
  const publisher = await connectGroup(ctx, system, 'pub', 1);
  if (publisher.connected !== 1) throw new Error(`publisher: ${publisher.firstError}`);

  const trial = async (burst: number) => {
    await pool.all(() => ({ type: 'reset-counts', group: 'subs' }), 10_000);
    return measure(system, pool, async () => {
      // A group of one client is placed on generator 0 (GeneratorPool.split).
      const published = await pool.one(
        0,
        { type: 'publish', group: 'pub', channel: CHANNEL, count: burst },
        10_000,
      );
      const replies = await pool.all(
        () => ({ type: 'await-deliveries', group: 'subs', perClient: burst, timeoutMs: 30_000 }),
        60_000,
      );
      return { startedAt: published.startedAt, replies };
    });
  };

  progress('fanout', name, 'warm-up');
  await trial(Math.min(5, size.burst));
  const rates: number[] = [];
  const serverUs: number[] = [];
  const withRedisUs: number[] = [];
  const generatorUs: number[] = [];
  const deliveries: number[] = [];
  const generatorPct: number[] = [];
  const serverPct: number[] = [];
  for (let t = 1; t <= size.trials; t++) {
    progress(
      'fanout',
      name,
      `${size.subscribers} subscribers × ${size.burst} messages, trial ${t}/${size.trials}`,
    );
    const m = await trial(size.burst);
    const total = sum(m.result.replies.map((r) => r.total));
    const expected = size.subscribers * size.burst;
    if (total < expected)
      sink.note(
        'fanout',
        name,
        `trial ${t}: ${total} of ${expected} deliveries arrived; ${await whoLeft(ctx)}`,
      );
    const lastAt = Math.max(...m.result.replies.map((r) => r.lastAt));
    rates.push((total / (lastAt - m.result.startedAt)) * 1000);
    serverUs.push(m.serverUs);
    withRedisUs.push(m.serverUs + m.auxUs);
    generatorUs.push(m.generatorUs);
    deliveries.push(total);
    generatorPct.push(cpuPercent(m.generatorUs, m.wallMs));
    serverPct.push(cpuPercent(m.serverUs, m.wallMs));
  }
  sink.add('fanout', name, `deliveries_per_s${suffix}`, round(median(rates)), 'deliveries/s');
  sink.add('fanout', name, `cpu_us_per_delivery${suffix}`, round(pooledPerOp(serverUs, deliveries), 3), 'µs');
  noteResolution(ctx, 'fanout', name, `cpu_us_per_delivery${suffix}`, sum(serverUs));
  if (system.auxPids().length > 0) {
    const perDelivery = pooledPerOp(withRedisUs, deliveries);
    sink.add('fanout', name, `cpu_us_per_delivery_with_redis${suffix}`, round(perDelivery, 3), 'µs');
  }
  sink.add('fanout', name, `server_cpu_pct${suffix}`, round(median(serverPct)), '% of a core');
  sink.add('fanout', name, `generator_cpu_pct${suffix}`, round(median(generatorPct)), '% of a core');
  // Where the generators are the limit, deliveries/s follows what each delivery costs them
  // (a longer frame costs more to read), not only what it costs the server.
  const generatorPerDelivery = round(pooledPerOp(generatorUs, deliveries), 3);
  sink.add('fanout', name, `generator_cpu_us_per_delivery${suffix}`, generatorPerDelivery, 'µs');
  const rate = `deliveries_per_s${suffix}`;
  noteIfNotServerBound(ctx, 'fanout', name, rate, median(serverPct), median(generatorPct));
  await closeGroup(ctx, 'pub');
  await closeGroup(ctx, 'subs');
}
