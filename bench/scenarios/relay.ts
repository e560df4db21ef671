/**
 * Relay and latency. Clients send 64 B payloads that come back to them — echoed
 * by the bare peers, emitted back by Socket.IO, and for Tether published to a
 * channel only the sender subscribes to (so through Redis and back).
 *   relay:   cpu_us_per_msg at a fixed offered load (open loop, same for all),
 *            msgs_per_s at saturation (closed loop, IN_FLIGHT_PER_CLIENT messages in flight each);
 *   latency: round trip p50/p99 at 50% of that system's measured saturation, and
 *            at a fixed FIXED_LATENCY_RATE for all (`…_fixed_load`).
 */
import { progress } from '../lib/progress.ts';
import { median, percentile, round, sum } from '../lib/stats.ts';
import type { RelayOpenCommand, RelayOpenReply } from '../load/commands.ts';
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

const SIZES = {
  quick: {
    clients: 100,
    fixedRate: 2000,
    trials: 3,
    trialMs: 800,
    satTrials: 2,
    satMs: 800,
    latencyMs: 1500,
    warmUpMs: 500,
  },
  full: {
    clients: 100,
    fixedRate: 2000,
    trials: 5,
    trialMs: 4000,
    satTrials: 3,
    satMs: 4000,
    latencyMs: 8000,
    warmUpMs: 1000,
  },
};
/**
 * Enough in flight that round trips do not cap the closed loop (rate ≤ in flight ÷
 * RTT): with 4 per client, Tether's gateway stayed near 75% of a core; with 16,
 * Tether and ws each relayed ~20% more (one quick run, this box).
 */
const IN_FLIGHT_PER_CLIENT = 16;
const GROUP = 'relay';
/**
 * The same offered load for every system (issue 13: p99 at 5,000 msg/s against the
 * durable floor's): a tail at 50% of each system's own saturation compares
 * different loads.
 */
const FIXED_LATENCY_RATE = 5000;

export async function relayOn(ctx: ScenarioContext, system: RunningSystem): Promise<void> {
  const size = ctx.options.quick ? SIZES.quick : SIZES.full;
  const { sink, pool } = ctx;
  const name = system.name;
  progress('relay', name, `connecting ${size.clients} clients`);
  const ready = await connectGroup(ctx, system, GROUP, size.clients, { relay: true });
  if (ready.connected < size.clients)
    throw new Error(`only ${ready.connected} connected: ${ready.firstError}`);
  const counts = pool.split(size.clients);
  const openLoop = (ratePerS: number, durationMs: number, recordLatency: boolean) =>
    pool.all<RelayOpenCommand>(
      (i) =>
        (counts[i] ?? 0) > 0
          ? {
              type: 'relay-open',
              group: GROUP,
              ratePerS: (ratePerS * (counts[i] ?? 0)) / size.clients,
              durationMs,
              graceMs: 3000,
              recordLatency,
            }
          : undefined,
      durationMs * 3 + 30_000,
    );

  progress('relay', name, 'warm-up');
  await openLoop(size.fixedRate, size.warmUpMs, false);

  const serverUs: number[] = [];
  const auxUs: number[] = [];
  const received: number[] = [];
  const achieved: number[] = [];
  for (let t = 1; t <= size.trials; t++) {
    progress('relay', name, `fixed load ${size.fixedRate}/s, trial ${t}/${size.trials}`);
    const m = await measure(system, pool, () => openLoop(size.fixedRate, size.trialMs, false));
    const back = sum(m.result.map((r) => r.received));
    serverUs.push(m.serverUs);
    auxUs.push(m.auxUs);
    received.push(back);
    achieved.push((back / m.wallMs) * 1000);
  }
  sink.add('relay', name, 'cpu_us_per_msg', round(pooledPerOp(serverUs, received)), 'µs');
  noteResolution(ctx, 'relay', name, 'cpu_us_per_msg', sum(serverUs));
  if (system.auxPids().length > 0) {
    const withRedis = serverUs.map((us, i) => us + (auxUs[i] ?? 0));
    sink.add('relay', name, 'cpu_us_per_msg_with_redis', round(pooledPerOp(withRedis, received)), 'µs');
  }
  sink.add('relay', name, 'fixed_load_msgs_per_s', size.fixedRate, 'msg/s');
  sink.add('relay', name, 'fixed_load_achieved_msgs_per_s', round(median(achieved)), 'msg/s');
  if (median(achieved) < size.fixedRate * 0.9)
    sink.note('relay', name, `could not sustain the fixed load (${round(median(achieved))}/s)`);

  const rates: number[] = [];
  const satServerUs: number[] = [];
  const satReceived: number[] = [];
  const serverPct: number[] = [];
  const generatorPct: number[] = [];
  for (let t = 1; t <= size.satTrials; t++) {
    progress('relay', name, `saturation, trial ${t}/${size.satTrials}`);
    const m = await measure(system, pool, () =>
      pool.all(
        () => ({
          type: 'relay-closed',
          group: GROUP,
          inFlight: IN_FLIGHT_PER_CLIENT,
          durationMs: size.satMs,
          graceMs: 3000,
        }),
        size.satMs + 30_000,
      ),
    );
    const back = sum(m.result.map((r) => r.received));
    rates.push((back / size.satMs) * 1000);
    satServerUs.push(m.serverUs);
    satReceived.push(back);
    serverPct.push(cpuPercent(m.serverUs, m.wallMs));
    generatorPct.push(cpuPercent(m.generatorUs, m.wallMs));
  }
  const saturation = median(rates);
  sink.add('relay', name, 'msgs_per_s', round(saturation), 'msg/s');
  sink.add('relay', name, 'cpu_us_per_msg_at_saturation', round(pooledPerOp(satServerUs, satReceived)), 'µs');
  sink.add('relay', name, 'server_cpu_pct_at_saturation', round(median(serverPct)), '% of a core');
  sink.add('relay', name, 'generator_cpu_pct_at_saturation', round(median(generatorPct)), '% of a core');
  noteIfNotServerBound(ctx, 'relay', name, 'msgs_per_s', median(serverPct), median(generatorPct));

  const latencyRate = Math.max(100, Math.round(saturation / 2));
  progress('relay', name, `latency at ${latencyRate}/s (50% of saturation)`);
  const atHalf = await openLoop(latencyRate, size.latencyMs, true);
  addLatency(ctx, name, atHalf, '');
  sink.add('latency', name, 'offered_msgs_per_s', latencyRate, 'msg/s');

  progress('relay', name, `latency at a fixed ${FIXED_LATENCY_RATE}/s`);
  const atFixed = await openLoop(FIXED_LATENCY_RATE, size.latencyMs, true);
  addLatency(ctx, name, atFixed, '_fixed_load');
  sink.add('latency', name, 'fixed_load_msgs_per_s', FIXED_LATENCY_RATE, 'msg/s');
  await closeGroup(ctx, GROUP);
}

/** Round-trip percentiles of one latency step, as `p50_ms<suffix>` etc. */
function addLatency(ctx: ScenarioContext, name: string, replies: RelayOpenReply[], suffix: string): void {
  const latencies = replies.flatMap((r) => r.latenciesMs);
  const sent = sum(replies.map((r) => r.sent));
  const back = sum(replies.map((r) => r.received));
  ctx.sink.add('latency', name, `p50_ms${suffix}`, round(percentile(latencies, 50)), 'ms');
  ctx.sink.add('latency', name, `p99_ms${suffix}`, round(percentile(latencies, 99)), 'ms');
  ctx.sink.add('latency', name, `p999_ms${suffix}`, round(percentile(latencies, 99.9)), 'ms');
  if (back < sent)
    ctx.sink.note(
      'latency',
      name,
      `${sent - back} of ${sent} messages not back in time${suffix ? ` (${suffix.slice(1)})` : ''}`,
    );
}
