/**
 * The one publish path, for a client's `publish` frame and a backend's
 * `POST /publish` alike: channel rules, the store's readiness, the durable append
 * (the returned ID means the event is in the log), and the trace context the event
 * carries so its delivery joins the publisher's trace.
 */
import type { ErrorCode } from '../shared/errors.ts';
import { INBOX_PREFIX } from '../shared/frames.ts';
import type { GatewayCore } from './gateway-core.ts';
import { channelAllowed, type Principal } from './principal.ts';

export interface PublishRequest {
  channel: string;
  /** The event's data as the publisher wrote it (JSON text): stored and delivered byte for byte. */
  dataJson: string;
  correlationId: string;
  /** A client's principal (its `publish` claim decides), or `backend` (an API key, any channel). */
  publisher: Principal | 'backend';
}

export type PublishResult = { id: string } | { error: ErrorCode; detail?: string };

export async function publishEvent(core: GatewayCore, request: PublishRequest): Promise<PublishResult> {
  const { channel, publisher } = request;
  if (channel.startsWith(INBOX_PREFIX))
    return { error: 'PUBLISH_FORBIDDEN', detail: 'inbox channels carry action replies only' };
  if (publisher !== 'backend' && !channelAllowed(publisher.publish, channel))
    return { error: 'PUBLISH_FORBIDDEN', detail: channel };
  if (!core.ports.readiness.isReady()) return { error: 'STORE_UNAVAILABLE' };
  try {
    const traceparent = core.telemetry.sampledTraceparent();
    const event = await core.ports.events.append(
      channel,
      request.dataJson,
      request.correlationId,
      traceparent,
    );
    return { id: event.id };
  } catch (error) {
    core.logger.warn({ err: error, channel, correlationId: request.correlationId }, 'publish: append failed');
    return { error: 'STORE_UNAVAILABLE' };
  }
}
