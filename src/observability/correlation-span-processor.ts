/**
 * Puts the correlation ID on every span, including spans we do not create
 * ourselves (BullMQ's `add` and `process` spans, a backend worker's own spans).
 *
 * The ID travels as W3C baggage (`tether.correlation_id`) in the context of the
 * connection's spans, so it is injected wherever trace context is — into BullMQ
 * jobs by bullmq-otel, into HTTP calls a worker makes — and this processor copies
 * it from the parent context onto each span as it starts.
 */
import { type Context, propagation } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_CORRELATION_ID } from './span-attributes.ts';

/** The baggage entry that carries the correlation ID (same name as the span attribute). */
export const CORRELATION_BAGGAGE_KEY = ATTR_CORRELATION_ID;

export class CorrelationIdSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    if (span.attributes[ATTR_CORRELATION_ID] !== undefined) return;
    const id = propagation.getBaggage(parentContext)?.getEntry(CORRELATION_BAGGAGE_KEY)?.value;
    if (id) span.setAttribute(ATTR_CORRELATION_ID, id);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
