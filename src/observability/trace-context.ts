/**
 * Small tracing helpers for the rest of the code base — the only OpenTelemetry
 * surface other modules need. All of them are cheap no-ops while tracing is off.
 *
 * @example Continue a caller's trace from its headers
 * const parent = extractContext(headers); // { traceparent, tracestate, baggage }
 * await withSpan('work', { parent, kind: SpanKind.SERVER }, async (span) => { ... });
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { BullMQOtel } from 'bullmq-otel';
import { PACKAGE_VERSION } from '../config/package-root.ts';
import { CORRELATION_BAGGAGE_KEY } from './correlation-span-processor.ts';
import { isTracingEnabled } from './tracing.ts';

export { SpanKind };

/** Tether's tracer. A proxy: safe to take before the SDK is registered. */
export const tracer = trace.getTracer('tether', PACKAGE_VERSION);

export interface WithSpanOptions extends SpanOptions {
  /** Parent context; defaults to the active one. */
  parent?: Context;
}

/**
 * Run `fn` inside a new span (active for everything `fn` awaits), record a thrown
 * error on it, and end it when `fn` settles.
 */
export async function withSpan<T>(
  name: string,
  options: WithSpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** The context a carrier describes (or `base` unchanged when it carries none). */
export function extractContext(
  carrier: Record<string, string | undefined> | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!carrier) return base;
  return propagation.extract(base, carrier);
}

/**
 * A context whose parent is the caller's `traceparent` (header or hello field), if
 * valid, with its `tracestate` (vendor data that must travel with it, W3C Trace
 * Context §3.3) when given.
 */
export function contextFromTraceparent(
  traceparent: string | undefined,
  base: Context = ROOT_CONTEXT,
  tracestate?: string,
): Context {
  if (!traceparent) return base;
  return propagation.extract(base, tracestate ? { traceparent, tracestate } : { traceparent });
}

/** Between a stored traceparent and its tracestate (neither ever contains it). */
const STORED_SEPARATOR = ';';

/**
 * What we store next to an event so its delivery can continue the trace: the
 * context's span as a W3C `traceparent`, followed by `;` and its `tracestate`
 * when it has one — only when that span is sampled. Unsampled and tracing-off
 * contexts give undefined, so nothing is written and delivery creates no span.
 * Read it back with `contextFromStoredTrace`.
 */
export function sampledTraceparent(from = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(from);
  if (!spanContext || !(spanContext.traceFlags & TraceFlags.SAMPLED)) return undefined;
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-01`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? `${traceparent}${STORED_SEPARATOR}${tracestate}` : traceparent;
}

/** Whether a stored trace (`sampledTraceparent`'s form) asks for a sampled continuation. */
export function isSampledTraceparent(stored: string | undefined): stored is string {
  if (!stored) return false;
  const end = stored.indexOf(STORED_SEPARATOR);
  const traceparent = end === -1 ? stored : stored.slice(0, end);
  return (Number.parseInt(traceparent.slice(-2), 16) & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
}

/** The context a stored trace (`sampledTraceparent`'s form) describes. */
export function contextFromStoredTrace(stored: string | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!stored) return base;
  const end = stored.indexOf(STORED_SEPARATOR);
  return end === -1
    ? contextFromTraceparent(stored, base)
    : contextFromTraceparent(stored.slice(0, end), base, stored.slice(end + 1));
}

/** `base` plus the correlation ID, as baggage (see correlation-span-processor.ts). */
export function withCorrelationId(base: Context, correlationId: string): Context {
  const baggage = propagation.getBaggage(base) ?? propagation.createBaggage();
  return propagation.setBaggage(base, baggage.setEntry(CORRELATION_BAGGAGE_KEY, { value: correlationId }));
}

/**
 * BullMQ's `telemetry` option (bullmq-otel): job `add` and worker `process` spans,
 * with the trace context carried in the job. undefined while tracing is off, so
 * BullMQ skips the work entirely.
 *
 * @example new Queue(name, { connection, telemetry: bullTelemetry() })
 */
export function bullTelemetry(): BullMQOtel | undefined {
  return isTracingEnabled()
    ? new BullMQOtel({ tracerName: 'tether.bullmq', version: PACKAGE_VERSION })
    : undefined;
}
