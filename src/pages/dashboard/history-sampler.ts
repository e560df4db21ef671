/**
 * The dashboard's memory, kept by the gateway: once a second it reads this process's
 * metrics (the Prometheus text `/metrics` serves, only the families a sample draws) and
 * keeps the last `capacity` samples in
 * a ring, so a dashboard opened now draws the last five minutes at once instead of an
 * empty chart. The page asks `GET /dashboard/history` (src/pages/pages-route.ts), then
 * appends its own live samples.
 *
 * One sampler per gateway: it reads the process's counters and that gateway's own gauges
 * (connections by state, sockets, pool state, queue: src/observability/gateway-metrics.ts);
 * its timer is unref'd, so it never keeps a process alive, and stops with the gateway.
 */
import type { Registry } from 'prom-client';
import { type Counters, type PoolSample, poolSample, readCounters, SAMPLED_METRICS } from './pool-sample.ts';
import { parsePrometheusText } from './prometheus-text.ts';

export interface SamplerOptions {
  /** Samples kept, oldest dropped first. @defaultValue 300 */
  capacity?: number;
  /** Period between samples, ms. @defaultValue 1000 */
  intervalMs?: number;
}

export class HistorySampler {
  readonly capacity: number;
  readonly intervalMs: number;
  private readonly samples: PoolSample[] = [];
  private previous: Counters | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;

  /** @param metricsText the exposition text of the process's metrics registry. */
  constructor(
    private readonly metricsText: () => Promise<string>,
    options: SamplerOptions = {},
  ) {
    this.capacity = options.capacity ?? 300;
    this.intervalMs = options.intervalMs ?? 1000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample().catch(() => {}), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Take one sample now (skipped while the previous one is still being read). */
  async sample(now: number = Date.now()): Promise<PoolSample | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const samples = parsePrometheusText(await this.metricsText());
      const counters = readCounters(samples, now);
      const sample = poolSample(samples, undefined, counters, this.previous);
      this.previous = counters;
      this.samples.push(sample);
      if (this.samples.length > this.capacity) this.samples.shift();
      return sample;
    } finally {
      this.busy = false;
    }
  }

  /** Oldest first. */
  history(): PoolSample[] {
    return [...this.samples];
  }
}

/**
 * The exposition text of just the families a sample reads (SAMPLED_METRICS), in order, from
 * whichever of `registries` has each: the gauges of a gateway are in its own registry, the
 * counters in the process's.
 */
export async function sampledMetricsText(registries: readonly Registry[]): Promise<string> {
  const texts: string[] = [];
  for (const name of SAMPLED_METRICS) {
    const registry = registries.find((r) => r.getSingleMetric(name));
    if (registry) texts.push(await registry.getSingleMetricAsString(name));
  }
  return texts.join('\n');
}
