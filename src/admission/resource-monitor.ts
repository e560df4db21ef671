/**
 * Samples what makes a process unhealthy before it falls over — event-loop delay,
 * heap use, bytes queued for slow sockets — and maps them to a pressure level for
 * the pool: `high` stops direct admission, `critical` starts shedding.
 */
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Pressure } from '../../machines/pool.machine.ts';
import type { AdmissionConfig } from '../config/config.ts';

export interface ResourceSample {
  /** Longest event-loop delay over the sample window, ms. */
  lagMs: number;
  heapRatio: number;
  bufferedBytes: number;
  pressure: Pressure;
}

export function pressureOf(sample: Omit<ResourceSample, 'pressure'>, config: AdmissionConfig): Pressure {
  const over = (limits: AdmissionConfig['shed']) =>
    sample.lagMs >= limits.lagMs ||
    sample.heapRatio >= limits.heapRatio ||
    (limits.bufferedBytes > 0 && sample.bufferedBytes >= limits.bufferedBytes);
  if (over(config.shed)) return 'critical';
  if (over(config.saturate)) return 'high';
  return 'normal';
}

export class ResourceMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | undefined;
  /** When the previous sample ran (performance.now()), to see how late this one is. */
  private sampledAt = 0;
  latest: ResourceSample = { lagMs: 0, heapRatio: 0, bufferedBytes: 0, pressure: 'normal' };

  constructor(
    private readonly config: AdmissionConfig,
    private readonly bufferedBytes: () => number,
    private readonly onSample: (sample: ResourceSample, changed: boolean) => void,
  ) {}

  start(): void {
    this.histogram.enable();
    this.sampledAt = performance.now();
    this.timer = setInterval(() => this.sample(), this.config.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    const heap = getHeapStatistics();
    // The histogram alone misses a stall about half the time: when this timer runs before
    // the histogram's own after a block, reset() drops the delta that spans it. How late
    // this timer fired is the same stall, measured reliably.
    const now = performance.now();
    const lateMs = now - this.sampledAt - this.config.sampleMs;
    this.sampledAt = now;
    const raw = {
      lagMs: Math.max(this.histogram.max / 1e6, lateMs),
      heapRatio: heap.used_heap_size / heap.heap_size_limit,
      bufferedBytes: this.bufferedBytes(),
    };
    this.histogram.reset();
    const sample = { ...raw, pressure: pressureOf(raw, this.config) };
    const changed = sample.pressure !== this.latest.pressure;
    this.latest = sample;
    this.onSample(sample, changed);
  }
}
