/**
 * The one publish path, for a client's `publish` frame and a backend's
 * `POST /publish` alike: channel rules (reserved channels, the namespace's `publish`
 * option, the token's claim), the store's readiness, the durable append (the returned
 * ID means the event is in the log), and the trace context the event carries so its
 * delivery joins the publisher's trace.
 */

import { namespaceOf } from '../config/channel-policy.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { INBOX_PREFIX, SYSTEM_PREFIX } from '../shared/frames.ts';
import type { GatewayCore } from './gateway-core.ts';
import { AppendRefusedError, ReplicationShortError } from './ports/event-store.ts';
import { StoreStalledError } from './ports/store-readiness.ts';
import { channelAllowed, type Principal } from './principal.ts';

export interface PublishRequest {
  channel: string;
  /** The event's data as the publisher wrote it (JSON text): stored and delivered byte for byte. */
  dataJson: string;
  correlationId: string;
  /** A client's principal (its `publish` claim decides), or `backend` (an API key, any channel). */
  publisher: Principal | 'backend';
  /** A repeat with the same key (same publisher, same channel) within IDEMPOTENCY_WINDOW_MS appends nothing. */
  idempotencyKey?: string;
}

/** `ephemeral`: announced to live subscribers only (the namespace's option); `id` is empty. */
export type PublishResult =
  | { id: string; duplicate: boolean; ephemeral?: true }
  | { error: ErrorCode; detail?: string };

/**
 * What a failed append means for the event. Refused up front (Redis not ready), or by Redis
 * without running it (a slot moving, AppendRefusedError), nothing was written; otherwise, once
 * sent, it may be in the log whatever the failure, and a retry must carry the
 * same idempotencyKey to stay one event — a publish sent without one is told so.
 */
function appendFailure(error: unknown, keyed: boolean): string {
  const retry = keyed
    ? 'retry with the same idempotencyKey'
    : 'a retry may store it twice (it had no idempotencyKey: give one to make retries safe)';
  if (error instanceof StoreStalledError)
    return `Redis stopped answering while the event was being appended: it may still be added to the log when Redis answers again; ${retry}`;
  if (error instanceof AppendRefusedError)
    return `Redis refused the append (${error.message}): the event was not written; ${keyed ? retry : 'retry'}`;
  if (error instanceof ReplicationShortError)
    return error.sent
      ? `${error.message}: the event is in the log, but a failover could still lose it; ${retry}`
      : `${error.message}: the event was not sent, so it is not in the log; ${keyed ? retry : 'retry'}`;
  return `the append failed after the event was sent: it may be in the log; ${retry}`;
}

/** Why `publisher` may not publish to `channel`, or undefined when it may. */
function refusal(core: GatewayCore, channel: string, publisher: Principal | 'backend'): string | undefined {
  if (channel.startsWith(INBOX_PREFIX)) return 'inbox channels carry action replies only';
  if (channel.startsWith(SYSTEM_PREFIX)) return "system channels carry the gateway's own notifications only";
  if (publisher === 'backend') return undefined;
  if (core.policy(channel).publish === 'backend')
    return `${channel}: namespace "${namespaceOf(channel)}" takes publishes from the backend only (publish: backend)`;
  if (!channelAllowed(publisher.publish, channel)) return channel;
  return undefined;
}

/**
 * Keys are kept apart per publisher: one user cannot claim (or learn the ID behind)
 * another's key; the user ID is escaped so no two scopes can spell the same key.
 */
function scopedKey(publisher: Principal | 'backend', key: string): string {
  return publisher === 'backend' ? `b:${key}` : `u:${encodeURIComponent(publisher.userId)}:${key}`;
}

export async function publishEvent(core: GatewayCore, request: PublishRequest): Promise<PublishResult> {
  const { channel, publisher, idempotencyKey } = request;
  const refused = refusal(core, channel, publisher);
  if (refused !== undefined) return { error: 'PUBLISH_FORBIDDEN', detail: refused };
  const { readiness, events } = core.ports;
  if (!readiness.isReady()) return { error: 'STORE_UNAVAILABLE' };
  try {
    if (core.policy(channel).ephemeral) {
      // Nothing is stored, so there is no ID to give and no repeat to detect.
      await events.announce(channel, request.dataJson, request.correlationId);
      return { id: '', duplicate: false, ephemeral: true };
    }
    const traceparent = core.telemetry.sampledTraceparent();
    const event = await events.append(channel, request.dataJson, request.correlationId, {
      traceparent,
      idempotency:
        idempotencyKey === undefined
          ? undefined
          : { key: scopedKey(publisher, idempotencyKey), windowMs: core.config.idempotencyWindowMs },
    });
    return { id: event.id, duplicate: event.duplicate };
  } catch (error) {
    core.logger.warn({ err: error, channel, correlationId: request.correlationId }, 'publish: append failed');
    const detail = core.policy(channel).ephemeral
      ? 'the ephemeral event may not have reached every subscriber (nothing is stored)'
      : appendFailure(error, idempotencyKey !== undefined);
    return { error: 'STORE_UNAVAILABLE', detail };
  }
}
