/**
 * The ops dashboard's data side, without a browser: its Prometheus text parser
 * (src/pages/dashboard/prometheus-text.ts) read against what prom-client — the
 * gateway's own metrics library — actually writes, plus the format's corners, and
 * the per-second rates the dashboard draws from two scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HistorySampler, sampledMetricsText } from '../../src/pages/dashboard/history-sampler.ts';
import { poolSample, readCounters } from '../../src/pages/dashboard/pool-sample.ts';
import { parsePrometheusText, sum } from '../../src/pages/dashboard/prometheus-text.ts';

/** The gateway's `tether_connections` gauge, by state, on `registry`. */
function connectionsGauge(registry: Registry): Gauge<'state'> {
  return new Gauge({
    name: 'tether_connections',
    help: 'by state',
    labelNames: ['state'],
    registers: [registry],
  });
}

describe('parsePrometheusText', () => {
  it('reads what prom-client writes: labels, escapes, counters, histograms', async () => {
    const registry = new Registry();
    const connections = connectionsGauge(registry);
    connections.set({ state: 'connected' }, 7);
    connections.set({ state: 'reconnecting' }, 2);
    const errors = new Counter({
      name: 'tether_errors_total',
      help: 'errors "by" code\nand category',
      labelNames: ['code', 'note'],
      registers: [registry],
    });
    errors.inc({ code: 'AUTH_INVALID_TOKEN', note: 'say "hi"\\there\nnext line, {x=1} ok' }, 3);
    const lag = new Histogram({
      name: 'tether_delivery_seconds',
      help: 'latency',
      buckets: [0.01, 0.1],
      registers: [registry],
    });
    lag.observe(0.05);

    const samples = parsePrometheusText(await registry.metrics());
    expect(sum(samples, 'tether_connections', { state: 'connected' })).toBe(7);
    expect(sum(samples, 'tether_connections')).toBe(9);
    const error = samples.find((s) => s.name === 'tether_errors_total');
    expect(error).toEqual({
      name: 'tether_errors_total',
      labels: { code: 'AUTH_INVALID_TOKEN', note: 'say "hi"\\there\nnext line, {x=1} ok' },
      value: 3,
    });
    expect(sum(samples, 'tether_delivery_seconds_bucket', { le: '0.01' })).toBe(0);
    expect(sum(samples, 'tether_delivery_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(sum(samples, 'tether_delivery_seconds_count')).toBe(1);
    expect(sum(samples, 'tether_delivery_seconds_sum')).toBeCloseTo(0.05);
  });

  it('reads the special values, timestamps, CRLF lines; skips comments and garbage', () => {
    const text = [
      '# HELP up whether it is up',
      '# TYPE up gauge',
      'up 1 1712000000000',
      'big +Inf',
      'small -Inf',
      'unknown NaN',
      'exp 1.5e3\r',
      'labelled{a="1",b="two"} 4',
      'this is not a sample line',
      '',
    ].join('\n');
    const samples = parsePrometheusText(text);
    const value = (name: string) => samples.find((s) => s.name === name)?.value;
    expect(value('up')).toBe(1);
    expect(value('big')).toBe(Number.POSITIVE_INFINITY);
    expect(value('small')).toBe(Number.NEGATIVE_INFINITY);
    expect(value('unknown')).toBeNaN();
    expect(value('exp')).toBe(1500);
    expect(samples.find((s) => s.name === 'labelled')?.labels).toEqual({ a: '1', b: 'two' });
    expect(samples.map((s) => s.name)).toEqual(['up', 'big', 'small', 'unknown', 'exp', 'labelled']);
  });

  it('sum() is undefined for an absent metric, not 0: the dashboard shows "–", not a false zero', () => {
    const samples = parsePrometheusText('tether_connections{state="connected"} 0\n');
    expect(sum(samples, 'tether_connections', { state: 'connected' })).toBe(0);
    expect(sum(samples, 'tether_admission_queue_depth')).toBeUndefined();
  });
});

describe('poolSample', () => {
  const scrape = (admitted: number, errors: number) =>
    parsePrometheusText(
      [
        `tether_admissions_total{result="admitted"} ${admitted}`,
        'tether_admissions_total{result="queued"} 0',
        `tether_errors_total{code="A"} ${errors}`,
        'tether_connections{state="connected"} 3',
        'tether_pool_state{state="accepting"} 1',
        'tether_pool_state{state="saturated"} 0',
        'nodejs_eventloop_lag_p99_seconds 0.012',
      ].join('\n'),
    );

  it('turns counters into per-second rates against the previous scrape', () => {
    const before = readCounters(scrape(10, 1), 1000);
    const after = readCounters(scrape(16, 4), 3000);
    const sample = poolSample(scrape(16, 4), undefined, after, before);
    expect(sample).toMatchObject({
      at: 3000,
      admitsPerS: 3,
      errorsPerS: 1.5,
      byState: { connected: 3 },
      poolState: 'accepting',
    });
    expect(sample.eventLoopLagMs).toBeCloseTo(12);
  });

  it('has no rate for the first scrape, and none below zero after a gateway restart', () => {
    const first = readCounters(scrape(50, 5), 1000);
    expect(poolSample(scrape(50, 5), undefined, first, undefined).admitsPerS).toBeUndefined();
    const restarted = readCounters(scrape(2, 0), 2000);
    expect(poolSample(scrape(2, 0), undefined, restarted, first).admitsPerS).toBe(0);
  });
});

describe('HistorySampler', () => {
  it('keeps the last `capacity` samples of a real registry, oldest first, with per-second rates', async () => {
    const registry = new Registry();
    const messages = new Counter({
      name: 'tether_messages_received_total',
      help: 'in',
      registers: [registry],
    });
    const sampler = new HistorySampler(() => registry.metrics(), { capacity: 3 });
    for (let second = 0; second < 5; second++) {
      messages.inc(10 * second); // 0, 10, 20, 30, 40 more each second
      await sampler.sample(1_000_000 + second * 1000);
    }
    const history = sampler.history();
    expect(history.map((s) => s.at)).toEqual([1_002_000, 1_003_000, 1_004_000]);
    expect(history.map((s) => s.messagesInPerS)).toEqual([20, 30, 40]);
  });

  it('reads only the families a sample draws, and draws the same sample as from the whole registry', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const connections = connectionsGauge(registry);
    connections.set({ state: 'connected' }, 7);
    const text = await sampledMetricsText([registry]);
    expect(text).not.toContain('process_open_fds'); // lists /proc/self/fd: grows with sockets
    const at = 1_000_000;
    const fromSampled = poolSample(parsePrometheusText(text), undefined, { at, values: {} }, undefined);
    const fromAll = poolSample(
      parsePrometheusText(await registry.metrics()),
      undefined,
      { at, values: {} },
      undefined,
    );
    expect(fromSampled.byState.connected).toBe(7);
    expect(fromSampled.heapUsedBytes).toBeGreaterThan(0);
    expect({ ...fromSampled, heapUsedBytes: 0, eventLoopLagMs: 0 }).toEqual({
      ...fromAll,
      heapUsedBytes: 0,
      eventLoopLagMs: 0,
    });
  });

  it('runs on an unref’d timer: it never keeps a process alive', () => {
    const sampler = new HistorySampler(async () => '', { intervalMs: 10 });
    sampler.start();
    const timer = (sampler as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
    sampler.stop();
  });
});
