/**
 * One second of the pool, as the dashboard shows it: gauges read as they are,
 * counters turned into per-second rates against the previous scrape.
 */
import { type Sample, sum } from './prometheus-text.ts';

export const ACTOR_STATES = ['connecting', 'connected', 'reconnecting'] as const;

/**
 * The metric families a sample reads, in the order to render them. The gateway's sampler renders only these once a
 * second: the whole registry includes `process_open_fds`, which lists /proc/self/fd — a
 * cost that grows with every socket held.
 */
export const SAMPLED_METRICS = [
  'tether_admissions_total',
  'tether_shed_total',
  'tether_errors_total',
  'tether_messages_received_total',
  'tether_messages_sent_total',
  'tether_connections',
  'tether_pool_state',
  'tether_sockets_open',
  'tether_admission_queue_depth',
  // prom-client sets a group's gauges from the collect of one of them: it goes first.
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
] as const;

export interface PoolSample {
  at: number;
  poolState?: string;
  node?: string;
  sockets?: number;
  byState: Partial<Record<(typeof ACTOR_STATES)[number], number>>;
  queueDepth?: number;
  /** Per second since the previous sample. */
  admitsPerS?: number;
  queuedPerS?: number;
  refusedPerS?: number;
  shedsPerS?: number;
  errorsPerS?: number;
  messagesInPerS?: number;
  messagesOutPerS?: number;
  /** Event-loop lag, p99 over the process's monitoring window, ms. */
  eventLoopLagMs?: number;
  heapUsedBytes?: number;
}

export interface Counters {
  at: number;
  values: Record<string, number | undefined>;
}

export function readCounters(samples: Sample[], at: number): Counters {
  return {
    at,
    values: {
      admits: sum(samples, 'tether_admissions_total', { result: 'admitted' }),
      queued: sum(samples, 'tether_admissions_total', { result: 'queued' }),
      refused: sum(samples, 'tether_admissions_total', { result: 'refused' }),
      sheds: sum(samples, 'tether_shed_total'),
      errors: sum(samples, 'tether_errors_total'),
      messagesIn: sum(samples, 'tether_messages_received_total'),
      messagesOut: sum(samples, 'tether_messages_sent_total'),
    },
  };
}

export function poolSample(
  samples: Sample[],
  stats: { pool?: string; node?: string; sockets?: number } | undefined,
  now: Counters,
  previous: Counters | undefined,
): PoolSample {
  const rate = (key: string): number | undefined => {
    const a = previous?.values[key];
    const b = now.values[key];
    if (a === undefined || b === undefined || !previous) return undefined;
    const seconds = (now.at - previous.at) / 1000;
    return seconds > 0 ? Math.max(0, (b - a) / seconds) : undefined; // a restart resets counters
  };
  const byState: PoolSample['byState'] = {};
  for (const state of ACTOR_STATES) byState[state] = sum(samples, 'tether_connections', { state });
  const poolState =
    stats?.pool ?? samples.find((s) => s.name === 'tether_pool_state' && s.value === 1)?.labels.state;
  const lag =
    sum(samples, 'nodejs_eventloop_lag_p99_seconds') ?? sum(samples, 'nodejs_eventloop_lag_seconds');
  return {
    at: now.at,
    poolState,
    node: stats?.node,
    sockets: stats?.sockets ?? sum(samples, 'tether_sockets_open'),
    byState,
    queueDepth: sum(samples, 'tether_admission_queue_depth'),
    admitsPerS: rate('admits'),
    queuedPerS: rate('queued'),
    refusedPerS: rate('refused'),
    shedsPerS: rate('sheds'),
    errorsPerS: rate('errors'),
    messagesInPerS: rate('messagesIn'),
    messagesOutPerS: rate('messagesOut'),
    eventLoopLagMs: lag === undefined ? undefined : lag * 1000,
    heapUsedBytes: sum(samples, 'nodejs_heap_size_used_bytes'),
  };
}
