/**
 * `node --import tsx bench/observability-overhead.ts`: what observability costs on
 * the paths it touches, per operation, on this machine. Results are printed as a
 * table; docs/observability.md, "Overhead", quotes a run.
 *
 * - per frame: the counter increments on the message path (pre-bound children);
 * - per event fanned out: the latency histogram observation;
 * - per connection: the trace with tracing off (the shared no-op), then on —
 *   sampled (4 spans + events, exported to a no-op exporter) and unsampled;
 * - per log line: the trace-ID mixin.
 */
import { loadavg } from 'node:os';
import { Writable } from 'node:stream';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { createActor } from 'xstate';
import { connectionMachine } from '../machines/connection.machine.ts';
import { traffic } from '../src/core/traffic.ts';
import { connectionTrace } from '../src/observability/connection-trace.ts';
import { createLogger } from '../src/observability/logger.ts';
import { metrics } from '../src/observability/metrics.ts';
import { isTracingEnabled, startTracing } from '../src/observability/tracing.ts';

function measure(name: string, iterations: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) fn(i); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - started) / iterations;
  console.log(`${name.padEnd(58)} ${ns < 1000 ? `${ns.toFixed(1)} ns` : `${(ns / 1000).toFixed(2)} µs`}`);
}

async function measureAsync(name: string, iterations: number, fn: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 1000; i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  const us = Number(process.hrtime.bigint() - started) / iterations / 1000;
  console.log(`${name.padEnd(58)} ${us.toFixed(2)} µs`);
}

const info = {
  connectionId: 'c',
  transport: 'websocket' as const,
  path: '/ws',
  peerAddress: '127.0.0.1',
  clientAddress: '127.0.0.1',
  userAgent: 'bench',
};

/** One connection's tracing work in the gateway: open, hello, admission, events, welcome, close. */
async function connectionLife(traceparent?: string): Promise<void> {
  // Continue the caller's context, so an unsampled caller means an unsampled connection (the default links).
  const trace = connectionTrace(info, 'corr', 'continue', isTracingEnabled());
  trace.event('state.connecting');
  trace.helloReceived('corr', traceparent);
  trace.admissionBegan(1);
  trace.admissionEnded('granted', 0);
  trace.event('state.connected');
  trace.handshakeEnded(true, { 'tether.session_id': 's' });
  trace.closed(1000, 'bye');
}

const scratch = new Registry();
const unlabelled = new Counter({ name: 'b_unlabelled_total', help: 'b', registers: [scratch] });
const labelled = new Counter({
  name: 'b_labelled_total',
  help: 'b',
  labelNames: ['path'],
  registers: [scratch],
});
const promHistogram = new Histogram({
  name: 'b_seconds',
  help: 'b',
  buckets: metrics.deliveryLatency.buckets.slice(),
  registers: [scratch],
});

const sink = new Writable({ write: (_chunk, _encoding, done) => done() });

console.log(
  `node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// What the hot path does now, and what prom-client would cost in its place.
measure('per frame: traffic.framesIn++', 20_000_000, () => {
  traffic.framesIn++;
});
measure('  (prom-client unlabelled Counter.inc())', 5_000_000, () => unlabelled.inc());
measure('  (prom-client labelled Counter.inc({ path }))', 1_000_000, () => labelled.inc({ path: 'direct' }));
measure('per event: deliveryLatency.observe() (FastHistogram)', 5_000_000, (i) =>
  metrics.deliveryLatency.observe((i % 50) / 1000),
);
measure('  (prom-client Histogram.observe())', 1_000_000, (i) => promHistogram.observe((i % 50) / 1000));
measure('per error: errors.inc({ code, category })', 1_000_000, () =>
  metrics.errors.inc({ code: 'MALFORMED_MESSAGE', category: 'client' }),
);
const plain = pino({ level: 'info' }, sink);
const ours = createLogger('info', 'bench', { destination: sink });
measure('per log line: plain pino', 300_000, () => plain.info({ a: 1 }, 'line'));
measure('per log line: createLogger (redaction + trace-ID mixin)', 300_000, () =>
  ours.info({ a: 1 }, 'line'),
);
// For scale: what the gateway already spends per connection on its actor (docs/architecture.md: ~41 µs idle).
measure('  (for scale: one connection actor, create + start + stop)', 50_000, () => {
  const actor = createActor(connectionMachine, {
    input: { connectionId: 'c', correlationId: 'x' },
  });
  actor.start();
  actor.stop();
});
await measureAsync('per connection, tracing off (shared no-op)', 200_000, () => connectionLife());

const dropped: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
  shutdown: async () => {},
};
const tracing = await startTracing({ spanProcessors: [new BatchSpanProcessor(dropped)] });
await measureAsync('per connection, tracing on, sampled (4 spans)', 50_000, () =>
  connectionLife('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
);
await measureAsync('per connection, tracing on, caller unsampled', 50_000, () =>
  connectionLife('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'),
);
measure('per log line: createLogger with tracing on, no active span', 300_000, () =>
  ours.info({ a: 1 }, 'line'),
);
await tracing.shutdown();
