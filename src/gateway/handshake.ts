/**
 * hello → welcome: verify the token, then start a new session or re-attach an
 * existing one (auth is checked again on resume), then resume its channels.
 * Traced as `ws.handshake` (until welcome) and `session.resume` (through replay).
 */
import { randomUUID } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import { channelAllowed } from '../auth/principal.ts';
import type { ReplayPlan } from '../channels/event-log.ts';
import { observeResume } from '../observability/connection-events.ts';
import {
  ATTR_ENDUSER_ID,
  ATTR_REPLAYED,
  ATTR_SESSION_ID,
  ATTR_TIER,
} from '../observability/span-attributes.ts';
import { startSpan } from '../observability/trace-context.ts';
import { newResumeToken, resumeTokenMatches, type SessionRecord } from '../session/session-store.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { type ChannelResume, type HelloFrame, inboxChannel } from '../shared/frames.ts';
import { authenticateAndAdmit } from './authenticate.ts';
import type { Connection } from './connection.ts';
import { resumeChannels } from './subscriptions.ts';

export async function handleHello(conn: Connection, frame: HelloFrame): Promise<void> {
  conn.hello = 'busy';
  if (frame.correlationId && !conn.handshake.correlationId) conn.correlationId = frame.correlationId;
  conn.trace.start(conn.correlationId, frame.traceparent);
  const welcomed = await conn.trace.span('ws.handshake', {}, (span) => welcome(conn, frame, span));
  if (!welcomed) return;
  const replayed = await resumeChannels.start(conn, welcomed.plans);
  welcomed.resumeSpan?.setAttribute(ATTR_REPLAYED, replayed);
  welcomed.resumeSpan?.end();
}

interface Welcomed {
  plans: Record<string, ReplayPlan>;
  /** Open until the replay is done, when hello asked to resume. */
  resumeSpan?: Span;
}

/** Authenticate and admit, start or re-attach the session, send welcome; undefined when turned away. */
async function welcome(conn: Connection, frame: HelloFrame, span: Span): Promise<Welcomed | undefined> {
  const { ctx } = conn;
  const principal = await authenticateAndAdmit(conn, frame);
  if (!principal) return undefined;
  span.setAttributes({ [ATTR_ENDUSER_ID]: principal.userId, [ATTR_TIER]: principal.tier });
  const resumeSpan = frame.resume
    ? startSpan('session.resume', { attributes: { [ATTR_SESSION_ID]: frame.resume.sessionId } })
    : undefined;

  let session: SessionRecord | undefined;
  let resumeToken: string | undefined;
  let resumeError: ErrorCode | undefined;
  if (frame.resume) {
    const found = await ctx.sessions.load(frame.resume.sessionId);
    if (!found) resumeError = 'RESUME_EXPIRED';
    else if (!resumeTokenMatches(frame.resume.resumeToken, found.resumeTokenHash))
      resumeError = 'RESUME_REJECTED';
    else if (found.userId !== principal.userId) resumeError = 'RESUME_REJECTED';
    else {
      const attached = await ctx.sessions.attach(found.sessionId, conn.id, ctx.config.nodeId);
      if (!attached) resumeError = 'RESUME_EXPIRED';
      else {
        session = found;
        resumeToken = frame.resume.resumeToken;
        if (attached.previousNodeId !== ctx.config.nodeId) {
          ctx.control.send(attached.previousNodeId, {
            type: 'session.taken',
            sessionId: found.sessionId,
            byNode: ctx.config.nodeId,
          });
        }
      }
    }
  }
  if (!conn.isOpen) return undefined;

  if (!session) {
    const fresh = newResumeToken();
    resumeToken = fresh.token;
    session = {
      sessionId: randomUUID(),
      connectionId: conn.id,
      userId: principal.userId,
      nodeId: ctx.config.nodeId,
      correlationId: conn.correlationId,
      channels: {},
      connectedAt: Date.now(),
      lastActivity: Date.now(),
      clientInfo: { ip: conn.handshake.ip, userAgent: conn.handshake.userAgent, ...frame.client },
      health: 'connected',
      reconnectionCount: 0,
      errorCount: 0,
      tier: principal.tier,
      resumeTokenHash: fresh.hash,
    };
    await ctx.sessions.create(session);
    if (!conn.isOpen) return undefined;
  }

  const resumed = resumeError === undefined && frame.resume !== undefined;
  conn.sessionId = session.sessionId;
  bindActor(conn, session.sessionId, principal.userId, resumed);
  if (resumeError) conn.fail(resumeError);

  // Re-check every remembered channel against the (possibly new) token.
  const wanted: Record<string, string> = {};
  for (const [channel, after] of Object.entries(resumed ? session.channels : {})) {
    if (channel === inboxChannel(session.sessionId) || channelAllowed(principal.channels, channel))
      wanted[channel] = frame.resume?.lastEventIds?.[channel] ?? after;
    else conn.fail('FORBIDDEN_CHANNEL', { detail: `dropped ${channel} on resume` });
  }
  const plans = await resumeChannels.plan(conn, wanted);
  if (!conn.isOpen) return undefined;
  const channels: ChannelResume[] = Object.entries(plans).map(([channel, plan]) => ({ channel, ...plan }));
  const recovered = channels.every((c) => c.recovered);
  if (resumeSpan)
    observeResume(
      resumeSpan,
      resumeError ? (resumeError === 'RESUME_EXPIRED' ? 'expired' : 'rejected') : 'resumed',
      recovered,
    );
  conn.send({
    type: 'welcome',
    sessionId: session.sessionId,
    resumeToken: resumeToken as string,
    connectionId: conn.id,
    correlationId: conn.correlationId,
    userId: principal.userId,
    resumed,
    recovered,
    channels,
    heartbeatMs: (ctx.config.idleTimeoutS * 1000 * 3) / 4,
    maxMessageBytes: ctx.config.maxMessageBytes,
    resumeWindowMs: ctx.config.resumeWindowMs,
    serverTime: Date.now(),
  });
  conn.armTokenExpiry(principal.expiresAt);
  conn.hello = 'done';
  conn.trace.ready({ [ATTR_SESSION_ID]: session.sessionId, [ATTR_ENDUSER_ID]: principal.userId });
  conn.logger.info({ sessionId: session.sessionId, resumed, channels: channels.length }, 'session ready');
  return { plans, resumeSpan };
}

/** Give the socket its session's actor: a local one waiting in `reconnecting`, or its own. */
function bindActor(conn: Connection, sessionId: string, userId: string, resumed: boolean): void {
  const { supervisor, connections } = conn.ctx;
  const existing = resumed ? supervisor.sessionActor(sessionId) : undefined;
  if (existing && existing !== conn.actor) {
    const state = existing.getSnapshot().value;
    if (state === 'connected') {
      // The old transport is half-open (the client already moved on): retire it.
      const previous = connections.get(existing.getSnapshot().context.connectionId);
      previous?.close('SERVICE_RESTART', { detail: 'session resumed on a newer connection' });
    }
    if (existing.getSnapshot().value === 'reconnecting') {
      supervisor.discard(conn.actor);
      conn.actor = existing;
      existing.send({ type: 'transport.attached', connectionId: conn.id });
      return;
    }
  }
  conn.actor.send({ type: 'hello.accepted', sessionId, userId, resumed });
}
