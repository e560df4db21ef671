/**
 * The channel reader's fan-out of one event to this process's subscribers, with
 * what we measure there. Called once per event per process, never per
 * subscriber: the publish→deliver latency is observed here, and the frame count
 * per subscriber is one `numSubscribers` lookup, not a loop.
 *
 * A span (`channel.deliver`, CONSUMER) is made only for events whose append was
 * traced and sampled — they carry that span's `traceparent` (and `tracestate`) in
 * the stream entry (HTTP publishes, action replies). It is a child of that span,
 * so a backend's publish and its delivery on every gateway process read as one
 * trace (the issue asks for publish → reply delivery "all in one trace"), and it
 * also links to it: the messaging conventions' creation-context link, which
 * survives when a backend's tracing view cuts traces at process boundaries.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { DirectDelivery } from '../core/direct-delivery.ts';
import { channelTopic, ephemeralFrameText, eventFrameText } from '../core/event-frames.ts';
import type { LoggedEvent } from '../core/ports/event-store.ts';
import { traffic } from '../core/traffic.ts';
import type { TopicPublisher } from '../edge/sse/sse-streams.ts';
import { metrics } from '../observability/metrics.ts';
import {
  ATTR_CORRELATION_ID,
  ATTR_DELIVERY_LAG_MS,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_SUBSCRIBERS,
} from '../observability/span-attributes.ts';
import {
  contextFromStoredTrace,
  isSampledTraceparent,
  SpanKind,
  tracer,
} from '../observability/trace-context.ts';
import { INBOX_PREFIX } from '../shared/frames.ts';

/**
 * Publish `event` to the channel's topic (the edge's sockets and SSE streams), compressed when at least `compressFrom`
 * long (src/core/compression.ts), and to the sockets served one by one (`direct`:
 * ephemeral channels, batched delivery); returns the local subscriber count.
 */
export function fanOutEvent(
  app: TopicPublisher,
  direct: DirectDelivery,
  channel: string,
  event: LoggedEvent,
  compressFrom = Number.POSITIVE_INFINITY,
): number {
  const topic = channelTopic(channel);
  const text = event.ephemeral ? ephemeralFrameText(channel, event) : eventFrameText(channel, event);
  const compress = text.length >= compressFrom;
  const lagMs = event.ts > 0 ? Math.max(0, Date.now() - event.ts) : undefined;
  const subscribers = app.numSubscribers(topic) + direct.count(channel);
  if (isSampledTraceparent(event.traceparent))
    deliverTraced(app, topic, text, compress, channel, event, subscribers, lagMs);
  else app.publish(topic, text, false, compress);
  direct.deliver(channel, text, event.ephemeral === true);
  traffic.eventsDispatched++;
  traffic.framesOutFanout += subscribers;
  if (lagMs !== undefined) metrics.deliveryLatency.observe(lagMs / 1000);
  if (channel.startsWith(INBOX_PREFIX)) traffic.actionReplies++;
  return subscribers;
}

function deliverTraced(
  app: TopicPublisher,
  topic: string,
  text: string,
  compress: boolean,
  channel: string,
  event: LoggedEvent,
  subscribers: number,
  lagMs: number | undefined,
): void {
  const created = contextFromStoredTrace(event.traceparent);
  const creation = trace.getSpanContext(created);
  const span = tracer.startSpan(
    'channel.deliver',
    {
      kind: SpanKind.CONSUMER,
      links: creation ? [{ context: creation }] : undefined,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: 'tether',
        [ATTR_MESSAGING_DESTINATION_NAME]: channel,
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_MESSAGE_ID]: event.id,
        [ATTR_SUBSCRIBERS]: subscribers,
        ...(lagMs !== undefined ? { [ATTR_DELIVERY_LAG_MS]: lagMs } : {}),
        ...(event.correlationId ? { [ATTR_CORRELATION_ID]: event.correlationId } : {}),
      },
    },
    created,
  );
  try {
    app.publish(topic, text, false, compress);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
