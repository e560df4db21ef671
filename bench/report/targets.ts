/**
 * Tether's targets (issue 13, with issue 3's admission fast path and issue 6's
 * storm and scale aims), judged against a run's figures. They are reported, not
 * asserted: a missed target is a finding, and the report says so plainly. The
 * relay and latency targets compare Tether with the durable floor (`uws-durable`)
 * and the durable peer (`socketio-redis-streams`) measured in the same run.
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
const CONNECT_CPU_LIMIT_US = 400;
const STORM_LIMIT_S = 20;
const FLOOR = 'uws-durable';
const DURABLE_PEER = 'socketio-redis-streams';

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
    relayVsFloor(get, 'cpu_us_per_msg_at_saturation', 'at saturation', 1.0),
    relayVsFloor(get, 'cpu_us_per_msg', 'at 2,000 msg/s', 1.05),
    relayVsDurablePeer(get),
    latencyVsFloor(get),
    idleMemory(tetherMetrics('idle-memory', /^rss_bytes_per_conn_\d+k$/)),
    connectCost(tetherMetrics('connect-cost', /^cpu_us_per_connect_at_\d+k$/)),
    fanoutVsRaw(results),
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
const times = (ratio: number) => `${formatNumber(ratio)}×`;

function relayVsFloor(get: Lookup, metric: string, load: string, limit: number): TargetVerdict {
  const target = `relay: CPU per message ${load} ≤ ${limit.toFixed(2)}× uws-durable (the durable floor)`;
  const tether = get('relay', 'tether', metric);
  const floor = get('relay', FLOOR, metric);
  if (tether === undefined || !floor) return unmeasured('relay', target);
  return {
    scenario: 'relay',
    target,
    status: verdict(tether / floor <= limit),
    measured: `tether ${formatNumber(tether)} µs, uws-durable ${formatNumber(floor)} µs: ${times(tether / floor)}`,
  };
}

/** Messages per CPU-second is 1 ÷ CPU per message: judged at both loads, met only if both are. */
function relayVsDurablePeer(get: Lookup): TargetVerdict {
  const target =
    'relay: ≥ 1.5× socketio-redis-streams’ messages per CPU-second (at 2,000 msg/s and at saturation)';
  const loads = [
    ['cpu_us_per_msg', 'at 2,000 msg/s'],
    ['cpu_us_per_msg_at_saturation', 'at saturation'],
  ] as const;
  const pairs = loads.map(([metric, load]) => ({
    load,
    tether: get('relay', 'tether', metric),
    peer: get('relay', DURABLE_PEER, metric),
  }));
  if (pairs.some((p) => !p.tether || !p.peer)) return unmeasured('relay', target);
  const perCpuS = (us: number) => formatNumber(1e6 / us);
  const ratio = (p: (typeof pairs)[number]) => (p.peer as number) / (p.tether as number);
  return {
    scenario: 'relay',
    target,
    status: verdict(pairs.every((p) => ratio(p) >= 1.5)),
    measured: pairs
      .map(
        (p) =>
          `${p.load}: tether ${perCpuS(p.tether as number)}, socketio-redis-streams ${perCpuS(p.peer as number)}: ${times(ratio(p))}`,
      )
      .join('; '),
  };
}

function latencyVsFloor(get: Lookup): TargetVerdict {
  const target = 'latency: p99 at a fixed 5,000 msg/s ≤ uws-durable’s';
  const tether = get('latency', 'tether', 'p99_ms_fixed_load');
  const floor = get('latency', FLOOR, 'p99_ms_fixed_load');
  if (tether === undefined || floor === undefined) return unmeasured('latency', target);
  // A tail decided by the box rather than the server shows as time spent waiting for a core.
  const waited = (system: string) => get('latency', system, 'server_wait_pct_fixed_load');
  const tetherWait = waited('tether');
  const floorWait = waited(FLOOR);
  const contention =
    tetherWait === undefined || floorWait === undefined
      ? ''
      : `; each server waited for a core ${formatNumber(tetherWait)}% and ${formatNumber(floorWait)}% of the trial`;
  return {
    scenario: 'latency',
    target,
    status: verdict(tether <= floor),
    measured: `tether p99 ${formatNumber(tether)} ms, uws-durable ${formatNumber(floor)} ms${contention}`,
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

function connectCost(rows: readonly Result[]): TargetVerdict {
  const target = `connect cost ≤ ${CONNECT_CPU_LIMIT_US} µs per new connection at 1K and at 15K held`;
  const levels = byLevel(rows);
  if (levels.length === 0) return unmeasured('connect-cost', target);
  return {
    scenario: 'connect-cost',
    target,
    status: verdict(levels.every((l) => l.value <= CONNECT_CPU_LIMIT_US)),
    measured: `tether ${levels.map((l) => `${formatNumber(l.value)} µs at ${l.k}K`).join(', ')}`,
  };
}

/** Every fan-out size measured must reach the ratio. */
function fanoutVsRaw(results: readonly Result[]): TargetVerdict {
  const target = 'fan-out: ≥ 0.95× uws-raw deliveries per second';
  const rate = (system: string) =>
    byLevel(
      results.filter(
        (r) => r.scenario === 'fanout' && r.system === system && /^deliveries_per_s_\d+k$/.test(r.metric),
      ),
    );
  const raw = new Map(rate('uws-raw').map((l) => [l.k, l.value]));
  const levels = rate('tether').filter((l) => raw.get(l.k));
  if (levels.length === 0) return unmeasured('fanout', target);
  const ratio = (l: { k: number; value: number }) => l.value / (raw.get(l.k) as number);
  return {
    scenario: 'fanout',
    target,
    status: verdict(levels.every((l) => ratio(l) >= 0.95)),
    measured: levels.map((l) => `${times(ratio(l))} at ${l.k}K subscribers`).join(', '),
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
  const target = `reconnect storm: all 15K clients resumed in ≤ ${STORM_LIMIT_S} s, zero events lost or duplicated`;
  const clients = get('reconnect-storm', 'tether', 'clients');
  const resumed = get('reconnect-storm', 'tether', 'resumed_clients');
  const lost = get('reconnect-storm', 'tether', 'lost_events');
  const seconds = get('reconnect-storm', 'tether', 'seconds_to_all_resumed');
  const duplicated = get('reconnect-storm', 'tether', 'duplicate_events') ?? 0;
  if (clients === undefined || resumed === undefined || lost === undefined)
    return unmeasured('reconnect-storm', target);
  const reduced =
    quick || clients < 15_000 ? ` (reduced run: ${formatNumber(clients)} clients, not 15K)` : '';
  return {
    scenario: 'reconnect-storm',
    target,
    status: verdict(
      resumed === clients &&
        lost === 0 &&
        duplicated === 0 &&
        seconds !== undefined &&
        seconds <= STORM_LIMIT_S,
    ),
    measured: `${formatNumber(resumed)} of ${formatNumber(clients)} resumed in ${formatNumber(seconds ?? Number.NaN)} s, ${formatNumber(lost)} events lost, ${formatNumber(duplicated)} duplicated${reduced}`,
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
