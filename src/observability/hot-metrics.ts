/**
 * Counts taken on the hot path — per frame, per event fanned out — exposed to
 * Prometheus only when `/metrics` is scraped: the core's plain `traffic` totals
 * (src/core/traffic.ts) as counters, and a histogram whose `observe` is a short
 * loop and three additions.
 *
 * Why not prom-client directly: a labelled `inc()` hashes its labels on every
 * call, and `Histogram.observe()` does the same plus a bucket walk; measured here
 * at 25–40× the cost of an unlabelled increment (bench/observability-overhead.ts).
 * Per frame that is not free. A property increment is.
 */
import type { Registry } from 'prom-client';
import { traffic } from '../core/traffic.ts';

type MetricType = 'counter' | 'histogram';

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** The shape prom-client's registry reads from a metric (`get()` plus identity). */
interface CustomMetric {
  name: string;
  help: string;
  type: MetricType;
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }>;
  reset(): void;
}

function customMetric(name: string, help: string, type: MetricType, values: () => Sample[]): CustomMetric {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => {},
  };
}

/** A histogram with fixed buckets whose `observe` is a short loop and three additions. */
export class FastHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending (seconds for a `_seconds` metric). */
    readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    const { buckets, counts } = this;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  /** Prometheus samples: cumulative buckets, +Inf, sum and count. */
  samples(): Sample[] {
    const samples: Sample[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.counts[i] as number;
      samples.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    samples.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    samples.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    samples.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return samples;
  }

  register(registry: Registry): this {
    // prom-client types registerMetric for its own classes; it only reads this shape.
    registry.registerMetric(
      customMetric(this.name, this.help, 'histogram', () => this.samples()) as unknown as Parameters<
        Registry['registerMetric']
      >[0],
    );
    return this;
  }
}

/** Expose `traffic` as counters (frames by direction and path, events, replies). */
export function registerHotCounters(registry: Registry): void {
  const counter = (name: string, help: string, values: () => Sample[]) =>
    registry.registerMetric(
      customMetric(name, help, 'counter', values) as unknown as Parameters<Registry['registerMetric']>[0],
    );
  counter('tether_messages_received_total', 'WebSocket frames received from clients', () => [
    { labels: {}, value: traffic.framesIn },
  ]);
  counter(
    'tether_messages_sent_total',
    'Frames sent to clients: direct = to one socket (replies, acks, replay, errors); fanout = channel events, counted once per local subscriber',
    () => [
      { labels: { path: 'direct' }, value: traffic.framesOutDirect },
      { labels: { path: 'fanout' }, value: traffic.framesOutFanout },
    ],
  );
  counter(
    'tether_channel_events_total',
    'Channel events read from Redis and fanned out by this process (once per event, not per subscriber)',
    () => [{ labels: {}, value: traffic.eventsDispatched }],
  );
  counter('tether_action_replies_total', 'Action replies fanned out from session inboxes', () => [
    { labels: {}, value: traffic.actionReplies },
  ]);
  counter(
    'tether_ephemeral_dropped_total',
    'Ephemeral events a backed-up socket never got, superseded by a newer one of the same channel (by design, not loss)',
    () => [{ labels: {}, value: traffic.ephemeralDropped }],
  );
}
