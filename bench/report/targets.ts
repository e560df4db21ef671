/**
 * Tether's targets (issue 6), judged against a run's figures. They are reported,
 * not asserted: a missed target is a finding, and the report says so plainly.
 */
import type { Result } from '../lib/results.ts';
import { formatNumber } from './format.ts';

export type TargetStatus = 'met' | 'missed' | 'not measured';

export interface TargetVerdict {
  scenario: string;
  target: string;
  status: TargetStatus;
  /** The figures behind the verdict, in words. */
  measured: string;
}

type Lookup = (scenario: string, system: string, metric: string) => number | undefined;

const IDLE_MEMORY_LIMIT = 6 * 1024;
/** "Flat" allows this much rise from 1K to the top of the ladder: a per-connect cost growing with n would be ×15. */
const FLAT_TOLERANCE = 1.5;

export function judgeTargets(results: readonly Result[], quick: boolean): TargetVerdict[] {
  const get: Lookup = (scenario, system, metric) => {
    const value = results.find(
      (r) => r.scenario === scenario && r.system === system && r.metric === metric,
    )?.value;
    return value === undefined || Number.isNaN(value) ? undefined : value;
  };
  const tetherMetrics = (scenario: string, re: RegExp) =>
    results.filter((r) => r.scenario === scenario && r.system === 'tether' && re.test(r.metric));
  return [
    relayVsRaw(get),
    relayVsSocketIo(get),
    idleMemory(tetherMetrics('idle-memory', /^rss_bytes_per_conn_\d+k$/)),
    flatConnect(tetherMetrics('connect-cost', /^cpu_us_per_connect_at_\d+k$/)),
    latency(get),
    admissionFastPath(get),
    storm(get, quick),
    scale(get, quick),
  ];
}

const verdict = (ok: boolean): TargetStatus => (ok ? 'met' : 'missed');
const unmeasured = (scenario: string, target: string, why = 'no figures in this run'): TargetVerdict => ({
  scenario,
  target,
  status: 'not measured',
  measured: why,
});

function relayVsRaw(get: Lookup): TargetVerdict {
  const target = 'relay: CPU per message ≤ 1.25× uws-raw';
  const tether = get('relay', 'tether', 'cpu_us_per_msg');
  const raw = get('relay', 'uws-raw', 'cpu_us_per_msg');
  if (tether === undefined || !raw) return unmeasured('relay', target);
  const rate = get('relay', 'tether', 'fixed_load_msgs_per_s');
  return {
    scenario: 'relay',
    target,
    status: verdict(tether / raw <= 1.25),
    measured: `tether ${formatNumber(tether)} µs, uws-raw ${formatNumber(raw)} µs: ${formatNumber(tether / raw)}× (at ${formatNumber(rate ?? Number.NaN)} msg/s)`,
  };
}

function relayVsSocketIo(get: Lookup): TargetVerdict {
  const target = 'relay: ≥ 5× Socket.IO’s messages per CPU-second';
  const tether = get('relay', 'tether', 'cpu_us_per_msg');
  const socketio = get('relay', 'socketio', 'cpu_us_per_msg');
  if (!tether || !socketio) return unmeasured('relay', target);
  const perCpuS = (us: number) => formatNumber(1e6 / us);
  return {
    scenario: 'relay',
    target,
    status: verdict(socketio / tether >= 5),
    measured: `tether ${perCpuS(tether)}, Socket.IO ${perCpuS(socketio)} msgs per CPU-second: ${formatNumber(socketio / tether)}×`,
  };
}

/** Figures named `..._<n>k`, by n. */
const byLevel = (rows: readonly Result[]) =>
  rows
    .map((r) => ({ k: Number(/_(\d+)k$/.exec(r.metric)?.[1]), value: r.value }))
    .filter((r) => Number.isFinite(r.k) && Number.isFinite(r.value))
    .sort((a, b) => a.k - b.k);

function idleMemory(rows: readonly Result[]): TargetVerdict {
  const target = 'idle memory ≤ 6 KB per connection';
  const top = byLevel(rows).at(-1);
  if (!top) return unmeasured('idle-memory', target);
  return {
    scenario: 'idle-memory',
    target,
    status: verdict(top.value <= IDLE_MEMORY_LIMIT),
    measured: `tether ${formatNumber(top.value / 1024)} KB per connection at ${top.k}K connections`,
  };
}

function flatConnect(rows: readonly Result[]): TargetVerdict {
  const target = `connect cost flat from 1K to 15K connections (within ${FLAT_TOLERANCE}×)`;
  const levels = byLevel(rows);
  const low = levels[0];
  const high = levels.at(-1);
  if (!low || !high || low === high || !low.value) return unmeasured('connect-cost', target);
  return {
    scenario: 'connect-cost',
    target,
    status: verdict(high.value / low.value <= FLAT_TOLERANCE),
    measured: `tether ${formatNumber(low.value)} µs at ${low.k}K, ${formatNumber(high.value)} µs at ${high.k}K: ${formatNumber(high.value / low.value)}×`,
  };
}

function latency(get: Lookup): TargetVerdict {
  const target = 'latency: p99 ≤ 5 ms at 50% of saturation';
  const p99 = get('latency', 'tether', 'p99_ms');
  if (p99 === undefined) return unmeasured('latency', target);
  const rate = get('latency', 'tether', 'offered_msgs_per_s');
  return {
    scenario: 'latency',
    target,
    status: verdict(p99 <= 5),
    measured: `tether p99 ${formatNumber(p99)} ms at ${formatNumber(rate ?? Number.NaN)} msg/s`,
  };
}

function admissionFastPath(get: Lookup): TargetVerdict {
  const target = 'admission with free capacity sends no command to the admission queue (issue 3)';
  const direct = get('admission', 'tether', 'admission_queue_cmds_direct');
  if (direct === undefined) return unmeasured('admission', target);
  const cpu = (path: string) =>
    formatNumber(get('admission', 'tether', `cpu_us_per_admit_${path}`) ?? Number.NaN);
  return {
    scenario: 'admission',
    target,
    status: verdict(direct === 0),
    measured: `${formatNumber(direct)} admission-queue commands with room; CPU per admit ${cpu('direct')} µs direct, ${cpu('queued')} µs through the queue`,
  };
}

function storm(get: Lookup, quick: boolean): TargetVerdict {
  const target = 'reconnect storm: all 15K clients resumed, zero events lost';
  const clients = get('reconnect-storm', 'tether', 'clients');
  const resumed = get('reconnect-storm', 'tether', 'resumed_clients');
  const lost = get('reconnect-storm', 'tether', 'lost_events');
  const seconds = get('reconnect-storm', 'tether', 'seconds_to_all_resumed');
  if (clients === undefined || resumed === undefined || lost === undefined)
    return unmeasured('reconnect-storm', target);
  const reduced =
    quick || clients < 15_000 ? ` (reduced run: ${formatNumber(clients)} clients, not 15K)` : '';
  return {
    scenario: 'reconnect-storm',
    target,
    status: verdict(resumed === clients && lost === 0),
    measured: `${formatNumber(resumed)} of ${formatNumber(clients)} resumed in ${formatNumber(seconds ?? Number.NaN)} s, ${formatNumber(lost)} events lost${reduced}`,
  };
}

function scale(get: Lookup, quick: boolean): TargetVerdict {
  const target = 'scale: 100K connections held (aim)';
  const held = get('scale', 'tether', 'connections_held');
  if (held === undefined) return unmeasured('scale', target, quick ? 'full run only' : undefined);
  const gateways = formatNumber(get('scale', 'tether', 'gateways') ?? Number.NaN);
  const measured = `${formatNumber(held)} held by ${gateways} gateway processes`;
  if (quick) return unmeasured('scale', target, `${measured} (quick run: a small version, not the 100K aim)`);
  return { scenario: 'scale', target, status: verdict(held >= 100_000), measured };
}
