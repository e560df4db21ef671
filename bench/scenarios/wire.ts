/**
 * What goes over the wire (issue 17, parts 3 and 4): chat-like JSON events (about
 * 250 bytes of data, bench/load/clients/payload.ts) fanned out to subscribers, with
 * each way of sending them — a fresh gateway per variant, on each edge and over SSE:
 *   plain      one event per frame, uncompressed (the default)
 *   shared     WS_COMPRESSION=shared, clients offer permessage-deflate (SSE: accept gzip)
 *   dedicated  WS_COMPRESSION=dedicated (4 KiB window), clients offer it (SSE: accept gzip)
 *   batched    clients ask for batched delivery (hello `batch: true`)
 * Per variant: deliveries_per_s, cpu_us_per_delivery (the gateway), wire_bytes_per_delivery
 * (what the subscribers' sockets read, frame headers included, over deliveries) and
 * generator_cpu_us_per_delivery (the clients' side: inflating and parsing is theirs).
 *
 * Runs only when named: `npm run bench -- --quick --scenario wire --system tether,tether-sse`.
 */
import { progress } from '../lib/progress.ts';
import { median, round, sum } from '../lib/stats.ts';
import type { WireOptions } from '../load/commands.ts';
import type { RunningSystem } from '../systems/system.ts';
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

const SCENARIO = 'wire';
const CHANNEL = 'chat';
const SIZES = {
  quick: { subscribers: 200, burst: 200, trials: 3 },
  full: { subscribers: 1000, burst: 200, trials: 5 },
};

interface Variant {
  name: string;
  env: Record<string, string>;
  wire: WireOptions;
}
const VARIANTS: Variant[] = [
  { name: 'plain', env: { WS_COMPRESSION: 'off' }, wire: {} },
  { name: 'shared', env: { WS_COMPRESSION: 'shared' }, wire: { deflate: true } },
  { name: 'dedicated', env: { WS_COMPRESSION: 'dedicated' }, wire: { deflate: true } },
  { name: 'batched', env: { WS_COMPRESSION: 'off' }, wire: { batch: true } },
];

export const wireScenario: Scenario = {
  names: [SCENARIO],
  async run(ctx) {
    if (!ctx.options.scenarios.some((filter) => SCENARIO.startsWith(filter))) return;
    for (const name of systemsFor(ctx, ['tether', 'tether-ws', 'tether-sse']))
      for (const variant of VARIANTS)
        await withSystem(ctx, SCENARIO, name, (system) => fanOutChat(ctx, system, variant), {
          env: variant.env,
        });
  },
};

async function fanOutChat(ctx: ScenarioContext, system: RunningSystem, variant: Variant): Promise<void> {
  const size = ctx.options.quick ? SIZES.quick : SIZES.full;
  const { pool, sink } = ctx;
  const name = system.name;
  progress(SCENARIO, name, `${variant.name}: connecting ${size.subscribers} subscribers`);
  const subs = await connectGroup(ctx, system, 'wire-subs', size.subscribers, {
    subscribe: CHANNEL,
    wire: variant.wire,
  });
  if (subs.connected < size.subscribers)
    throw new Error(`only ${subs.connected} subscribed: ${subs.firstError}`);
  const publisher = await connectGroup(ctx, system, 'wire-pub', 1);
  if (publisher.connected !== 1) throw new Error(`publisher: ${publisher.firstError}`);

  const trial = async (burst: number) => {
    await pool.all(() => ({ type: 'reset-counts', group: 'wire-subs' }), 10_000);
    return measure(system, pool, async () => {
      const published = await pool.one(
        0,
        { type: 'publish', group: 'wire-pub', channel: CHANNEL, count: burst, chat: true },
        10_000,
      );
      const replies = await pool.all(
        () => ({ type: 'await-deliveries', group: 'wire-subs', perClient: burst, timeoutMs: 30_000 }),
        60_000,
      );
      return { startedAt: published.startedAt, replies };
    });
  };

  progress(SCENARIO, name, `${variant.name}: warm-up`);
  await trial(20);
  const rates: number[] = [];
  const serverUs: number[] = [];
  const generatorUs: number[] = [];
  const deliveries: number[] = [];
  const bytes: number[] = [];
  for (let t = 1; t <= size.trials; t++) {
    progress(
      SCENARIO,
      name,
      `${variant.name}: ${size.burst} events × ${size.subscribers}, trial ${t}/${size.trials}`,
    );
    const m = await trial(size.burst);
    const total = sum(m.result.replies.map((r) => r.total));
    const expected = size.subscribers * size.burst;
    if (total < expected)
      sink.note(SCENARIO, name, `${variant.name} trial ${t}: ${total} of ${expected} deliveries`);
    const lastAt = Math.max(...m.result.replies.map((r) => r.lastAt));
    rates.push((total / (lastAt - m.result.startedAt)) * 1000);
    serverUs.push(m.serverUs);
    generatorUs.push(m.generatorUs);
    deliveries.push(total);
    bytes.push(sum(m.result.replies.map((r) => r.bytesRead)));
  }
  const metric = (what: string) => `${what}_${variant.name}`;
  sink.add(SCENARIO, name, metric('deliveries_per_s'), round(median(rates)), 'deliveries/s');
  sink.add(SCENARIO, name, metric('cpu_us_per_delivery'), round(pooledPerOp(serverUs, deliveries), 3), 'µs');
  noteResolution(ctx, SCENARIO, name, metric('cpu_us_per_delivery'), sum(serverUs));
  sink.add(
    SCENARIO,
    name,
    metric('wire_bytes_per_delivery'),
    round(pooledPerOp(bytes, deliveries), 4),
    'bytes',
  );
  sink.add(
    SCENARIO,
    name,
    metric('generator_cpu_us_per_delivery'),
    round(pooledPerOp(generatorUs, deliveries), 3),
    'µs',
  );
  await closeGroup(ctx, 'wire-pub');
  await closeGroup(ctx, 'wire-subs');
}
