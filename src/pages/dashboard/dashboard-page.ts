/**
 * The ops dashboard: the last five minutes from the gateway's own ring buffer
 * (`/dashboard/history`, src/pages/dashboard/history-sampler.ts) so the charts are full
 * when the page opens, then once a second the gateway's `/metrics` (public, Prometheus
 * text) and `/ws/stats`: the pool now, and its charts — connections, admission queue,
 * messages per second, admits/sheds/errors, event-loop lag. No external service.
 */
import { drawLineChart } from './line-chart.ts';
import { type Counters, type PoolSample, poolSample, readCounters } from './pool-sample.ts';
import { parsePrometheusText } from './prometheus-text.ts';

/** Seconds charted: as many as the gateway's history keeps. */
const WINDOW = 300;
const INTERVAL_MS = 1000;

const history: PoolSample[] = [];
let previous: Counters | undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** For tests and the curious: `history`, every sample drawn; `seeded.count`, how many came from the gateway. */

async function tick(): Promise<void> {
  const updated = $('updated');
  try {
    const [metricsText, stats] = await Promise.all([
      fetch('/metrics', { cache: 'no-store' }).then((r) => {
        if (!r.ok) throw new Error(`/metrics answered HTTP ${r.status}`);
        return r.text();
      }),
      fetch('/ws/stats', { cache: 'no-store' }).then(
        (r) => (r.ok ? (r.json() as Promise<{ pool?: string; node?: string; sockets?: number }>) : undefined),
        () => undefined,
      ),
    ]);
    const samples = parsePrometheusText(metricsText);
    const counters = readCounters(samples, Date.now());
    const sample = poolSample(samples, stats, counters, previous);
    previous = counters;
    history.push(sample);
    if (history.length > WINDOW) history.shift();
    render(sample);
    updated.dataset.ok = 'true';
    updated.textContent = `updated ${new Date(sample.at).toLocaleTimeString()}`;
  } catch (error) {
    updated.dataset.ok = 'false';
    updated.textContent = `gateway unreachable: ${(error as Error).message}`;
  }
}

function show(id: string, value: number | undefined, digits = 0, unit = ''): void {
  const el = $(id);
  el.dataset.value = value === undefined ? '' : String(value);
  el.textContent = value === undefined ? '–' : `${value.toFixed(digits)}${unit}`;
}

function render(now: PoolSample): void {
  $('node').textContent = now.node ?? '?';
  const pool = $('pool-state');
  pool.dataset.state = now.poolState ?? 'unknown';
  pool.textContent = `pool ${now.poolState ?? 'unknown'}`;
  show('m-sockets', now.sockets);
  show('m-connected', now.byState.connected);
  show('m-connecting', now.byState.connecting);
  show('m-reconnecting', now.byState.reconnecting);
  show('m-queue', now.queueDepth);
  show('m-admits', now.admitsPerS, 1);
  show('m-sheds', now.shedsPerS, 1);
  show('m-errors', now.errorsPerS, 1);
  show('m-lag', now.eventLoopLagMs, 1, ' ms');
  const msgs = $('m-msgs');
  msgs.textContent =
    now.messagesInPerS === undefined
      ? '–'
      : `${now.messagesInPerS.toFixed(0)} / ${(now.messagesOutPerS ?? 0).toFixed(0)}`;

  const series = (pick: (s: PoolSample) => number | undefined) => history.map(pick);
  const chart = (id: string, lines: Parameters<typeof drawLineChart>[1], unit = '') =>
    drawLineChart($(id), lines, unit, WINDOW);
  chart('chart-messages', [
    { label: 'in', color: '#2f6fd6', values: series((s) => s.messagesInPerS) },
    { label: 'out', color: '#1f9d55', values: series((s) => s.messagesOutPerS) },
  ]);
  chart('chart-connections', [
    { label: 'connected', color: '#1f9d55', values: series((s) => s.byState.connected) },
    { label: 'connecting', color: '#d69e00', values: series((s) => s.byState.connecting) },
    { label: 'reconnecting', color: '#7b61d1', values: series((s) => s.byState.reconnecting) },
  ]);
  chart('chart-queue', [{ label: 'waiting', color: '#2f6fd6', values: series((s) => s.queueDepth) }]);
  chart('chart-rates', [
    { label: 'admits', color: '#1f9d55', values: series((s) => s.admitsPerS) },
    { label: 'sheds', color: '#d69e00', values: series((s) => s.shedsPerS) },
    { label: 'errors', color: '#d64545', values: series((s) => s.errorsPerS) },
  ]);
  chart('chart-lag', [{ label: 'p99', color: '#2f6fd6', values: series((s) => s.eventLoopLagMs) }], ' ms');
}

/**
 * One scrape at a time: the next starts a second after this one started, and never before it
 * ends — a slow /metrics must not let a later sample land before an earlier one, or two
 * scrapes share one `previous` and a rate comes out of order.
 */
async function run(): Promise<void> {
  const started = Date.now();
  await tick();
  setTimeout(() => void run(), Math.max(0, INTERVAL_MS - (Date.now() - started)));
}

/** What the gateway remembers: the charts start full. A gateway without it starts empty. */
async function seed(): Promise<void> {
  try {
    const res = await fetch('/dashboard/history', { cache: 'no-store' });
    if (!res.ok) return;
    const { samples } = (await res.json()) as { samples: PoolSample[] };
    history.push(...samples.slice(-WINDOW));
    seeded.count = history.length;
  } catch {
    // Nothing remembered: the live samples fill the charts.
  }
}
const seeded = { count: 0 };
Object.assign(window, { tetherDashboard: { history, seeded } });

void seed().then(run);
