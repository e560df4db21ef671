/**
 * The ops dashboard: once a second, read the gateway's `/metrics` (public,
 * Prometheus text) and `/ws/stats`, show the pool now and chart the last minute.
 * Everything comes from the gateway itself; no external service.
 */
import { drawLineChart } from './line-chart.ts';
import { type Counters, type PoolSample, poolSample, readCounters } from './pool-sample.ts';
import { parsePrometheusText } from './prometheus-text.ts';

const WINDOW = 60;
const INTERVAL_MS = 1000;

const history: PoolSample[] = [];
let previous: Counters | undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** For tests and the curious: every sample the page has drawn. */
Object.assign(window, { tetherDashboard: { history } });

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
  drawLineChart($('chart-connections'), [
    { label: 'connected', color: '#1f9d55', values: series((s) => s.byState.connected) },
    { label: 'connecting', color: '#d69e00', values: series((s) => s.byState.connecting) },
    { label: 'reconnecting', color: '#7b61d1', values: series((s) => s.byState.reconnecting) },
  ]);
  drawLineChart($('chart-queue'), [
    { label: 'waiting', color: '#2f6fd6', values: series((s) => s.queueDepth) },
  ]);
  drawLineChart($('chart-rates'), [
    { label: 'admits', color: '#1f9d55', values: series((s) => s.admitsPerS) },
    { label: 'sheds', color: '#d69e00', values: series((s) => s.shedsPerS) },
    { label: 'errors', color: '#d64545', values: series((s) => s.errorsPerS) },
  ]);
  drawLineChart(
    $('chart-lag'),
    [{ label: 'p99', color: '#2f6fd6', values: series((s) => s.eventLoopLagMs) }],
    ' ms',
  );
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

void run();
