/**
 * Samples what makes a process unhealthy before it falls over — event-loop delay,
 * heap use, bytes queued for slow sockets — and maps them to a pressure level for
 * the pool: `high` stops direct admission, `critical` starts shedding (sustained lag, or
 * memory running out: see pressureOf). A threshold of 0 turns its measure off at that level.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Pressure } from '../../machines/pool.machine.ts';
import type { AdmissionConfig } from '../config/config.ts';
import { WindowMax } from './window-max.ts';

/** How often event-loop delay is probed, ms (the same period as nodejs_eventloop_lag_*: src/observability/metrics.ts). */
const EVENT_LOOP_PROBE_MS = 50;

/** How far back `longestLagMs` looks: four scrapes at Prometheus's usual 15 s. */
export const STALL_WINDOW_MS = 60_000;

export interface ResourceSample {
  /** Longest event-loop delay over the sample window, ms. */
  lagMs: number;
  heapRatio: number;
  bufferedBytes: number;
  pressure: Pressure;
}

/**
 * The pressure level of a sample. Heap and buffered bytes past their shed thresholds are
 * critical at once: memory runs out. Event-loop lag past SHED_EVENT_LOOP_LAG_MS is critical
 * only when the previous sample's was too (`lagWasOverShed`): a single stall — a major GC,
 * a turn full of handshakes, the process descheduled on a busy box — is over before
 * shedding could relieve it, and shedding idle connections cannot relieve it anyway (they
 * come back as resumes, which cost more than they did). Its sample is `high`: newcomers
 * wait. A lag that outlasts that is the process's own overload, and shedding answers it.
 */
export function pressureOf(
  sample: Omit<ResourceSample, 'pressure'>,
  config: AdmissionConfig,
  lagWasOverShed = false,
): Pressure {
  const memoryOver = (limits: AdmissionConfig['shed']) =>
    reached(sample.heapRatio, limits.heapRatio) || reached(sample.bufferedBytes, limits.bufferedBytes);
  const lagOverShed = reached(sample.lagMs, config.shed.lagMs);
  if (memoryOver(config.shed) || (lagOverShed && lagWasOverShed)) return 'critical';
  if (lagOverShed || reached(sample.lagMs, config.saturate.lagMs) || memoryOver(config.saturate))
    return 'high';
  return 'normal';
}

/** A measure at or past its threshold; a threshold of 0 is off (every one of them: docs/admission.md). */
function reached(value: number, threshold: number): boolean {
  return threshold > 0 && value >= threshold;
}

export class ResourceMonitor {
  /**
   * Event-loop delay: how late a timer of EVENT_LOOP_PROBE_MS fires. A stall shows in full
   * whatever the period, and a shorter one wakes an idle process more often (10 ms was 100
   * wake-ups a second, issue 13). Not Node's delay histogram (monitorEventLoopDelay): its
   * reset() can drop the delta that spans a stall, so a 1.5 s block read as 50 ms.
   */
  private probeTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the probe last looked (performance.now()). */
  private probedAt = 0;
  /** The longest delay the probe saw since the previous sample, ms. */
  private longestDelayMs = 0;
  latest: ResourceSample = { lagMs: 0, heapRatio: 0, bufferedBytes: 0, pressure: 'normal' };
  /** The samples' lags over the last STALL_WINDOW_MS. */
  private readonly recentLags = new WindowMax(STALL_WINDOW_MS);

  constructor(
    private readonly config: AdmissionConfig,
    private readonly bufferedBytes: () => number,
    private readonly onSample: (sample: ResourceSample, changed: boolean) => void,
  ) {}

  start(): void {
    this.probedAt = performance.now();
    this.probeTimer = setInterval(() => this.probe(performance.now()), EVENT_LOOP_PROBE_MS);
    this.probeTimer.unref();
    this.timer = setInterval(() => this.sample(), this.config.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.probeTimer);
  }

  /**
   * The longest event-loop stall sampled in the last STALL_WINDOW_MS
   * (tether_event_loop_stall_max_seconds). Reading it changes nothing, so every scraper sees
   * every stall. Node's own delay histogram, and so prom-client's
   * nodejs_eventloop_lag_max_seconds, can miss a single stall entirely (a 1.5 s block read
   * as 50 ms); the probe does not.
   */
  longestLagMs(): number {
    return this.recentLags.read(performance.now());
  }

  /** How late the probe is now: a stall counts once, in full, in the sample that first sees it. */
  private probe(now: number): void {
    this.longestDelayMs = Math.max(this.longestDelayMs, now - this.probedAt - EVENT_LOOP_PROBE_MS);
    this.probedAt = now;
  }

  private sample(): void {
    const heap = getHeapStatistics();
    // Run after a stall before the probe's own timer, the sample probes for it (and the
    // probe then counts from here): neither misses the stall nor counts it twice.
    const now = performance.now();
    this.probe(now);
    const raw = {
      lagMs: this.longestDelayMs,
      heapRatio: heap.used_heap_size / heap.heap_size_limit,
      bufferedBytes: this.bufferedBytes(),
    };
    this.longestDelayMs = 0;
    const sample = {
      ...raw,
      pressure: pressureOf(raw, this.config, reached(this.latest.lagMs, this.config.shed.lagMs)),
    };
    this.recentLags.record(sample.lagMs, now);
    const changed = sample.pressure !== this.latest.pressure;
    this.latest = sample;
    this.onSample(sample, changed);
  }
}
