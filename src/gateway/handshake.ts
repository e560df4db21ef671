/**
 * hello → welcome: verify the token, then start a new session or re-attach an
 * existing one (auth is checked again on resume), then resume its channels.
 * Traced as `ws.handshake` (until welcome) and `session.resume` (through replay).
 *
 * A session keeps ONE correlation ID for its whole life: a resuming connection
 * that brought none of its own (header or hello) takes the session's, before its
 * trace starts, so one query finds every socket, span and log line of a session.
 */
import { randomUUID } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import type { Principal } from '../auth/principal.ts';
import { channelAllowed } from '../auth/principal.ts';
import type { ReplayPlan } from '../channels/event-log.ts';
import { heartbeatTiming } from '../edge/uws.ts';
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

type ResumeRequest = NonNullable<HelloFrame['resume']>;

/**
 * Resolves once `welcome` was sent (or the hello was turned away: undefined), with
 * the replay of the session's channels still running: frames the client sent
 * behind its hello are handled before the replay ends, in the order sent.
 */
export async function handleHello(
  conn: Connection,
  frame: HelloFrame,
): Promise<{ replay: Promise<void> } | undefined> {
  conn.hello = 'busy';
  const prior = frame.resume ? await resumableSession(conn, frame.resume) : undefined;
  const ownId = conn.handshake.correlationId ?? frame.correlationId; // the upgrade header first
  if (ownId) conn.correlationId = ownId;
  else if (prior?.correlationId) conn.correlationId = prior.correlationId;
  conn.trace.start(conn.correlationId, frame.traceparent);
  const welcomed = await conn.trace.span('ws.handshake', {}, (span) => welcome(conn, frame, prior, span));
  if (!welcomed) return undefined;
  const { plans, resumeSpan } = welcomed;
  const replay = resumeChannels.start(conn, plans).then(
    (replayed) => {
      resumeSpan?.setAttribute(ATTR_REPLAYED, replayed);
      resumeSpan?.end();
    },
    (error: unknown) => {
      resumeSpan?.recordException(error as Error);
      resumeSpan?.end();
      conn.logger.error({ err: error }, 'resume failed');
      conn.close('INTERNAL', { detail: 'resume interrupted' });
    },
  );
  return { replay };
}

/** The session a resume names, if its resume token matches (the user is checked after auth). */
async function resumableSession(conn: Connection, resume: ResumeRequest): Promise<SessionRecord | undefined> {
  const found = await conn.ctx.sessions.load(resume.sessionId);
  return found && resumeTokenMatches(resume.resumeToken, found.resumeTokenHash) ? found : undefined;
}

interface Welcomed {
  plans: Record<string, ReplayPlan>;
  /** Open until the replay is done, when hello asked to resume. */
  resumeSpan?: Span;
}

/** Authenticate and admit, start or re-attach the session, send welcome; undefined when turned away. */
async function welcome(
  conn: Connection,
  frame: HelloFrame,
  prior: SessionRecord | undefined,
  span: Span,
): Promise<Welcomed | undefined> {
  const principal = await authenticateAndAdmit(conn, frame);
  if (!principal) return undefined;
  span.setAttributes({ [ATTR_ENDUSER_ID]: principal.userId, [ATTR_TIER]: principal.tier });
  const resumeSpan = frame.resume
    ? startSpan('session.resume', { attributes: { [ATTR_SESSION_ID]: frame.resume.sessionId } })
    : undefined;
  try {
    const plans = await openSession(conn, frame, principal, prior, resumeSpan);
    if (!plans) resumeSpan?.end(); // the socket went away before welcome
    return plans ? { plans, resumeSpan } : undefined;
  } catch (error) {
    resumeSpan?.recordException(error as Error);
    resumeSpan?.end();
    throw error;
  }
}

/** Re-attach the resumed session or create one, send welcome; the replay plan per channel. */
async function openSession(
  conn: Connection,
  frame: HelloFrame,
  principal: Principal,
  prior: SessionRecord | undefined,
  resumeSpan: Span | undefined,
): Promise<Record<string, ReplayPlan> | undefined> {
  const { ctx } = conn;
  const attached = frame.resume ? await reattach(conn, frame.resume, principal, prior) : undefined;
  if (!conn.isOpen) return undefined;
  let session = attached && 'session' in attached ? attached.session : undefined;
  let resumeToken = frame.resume?.resumeToken;
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

  const resumeError = attached && 'error' in attached ? attached.error : undefined;
  const resumed = attached !== undefined && resumeError === undefined;
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
    heartbeatMs: heartbeatTiming(ctx.config.idleTimeoutS).pingAfterMs,
    maxMessageBytes: ctx.config.maxMessageBytes,
    resumeWindowMs: ctx.config.resumeWindowMs,
    serverTime: Date.now(),
  });
  conn.armTokenExpiry(principal.expiresAt);
  conn.hello = 'done';
  conn.trace.ready({ [ATTR_SESSION_ID]: session.sessionId, [ATTR_ENDUSER_ID]: principal.userId });
  conn.logger.info({ sessionId: session.sessionId, resumed, channels: channels.length }, 'session ready');
  return plans;
}

/** Take the session over from whichever connection (and process) held it last. */
async function reattach(
  conn: Connection,
  resume: ResumeRequest,
  principal: Principal,
  prior: SessionRecord | undefined,
): Promise<{ session: SessionRecord } | { error: ErrorCode }> {
  const { ctx } = conn;
  if (!prior) {
    // Either gone (window passed, bye) or the token does not match: say which.
    return { error: (await ctx.sessions.load(resume.sessionId)) ? 'RESUME_REJECTED' : 'RESUME_EXPIRED' };
  }
  if (prior.userId !== principal.userId) return { error: 'RESUME_REJECTED' };
  const attached = await ctx.sessions.attach(prior.sessionId, conn.id, ctx.config.nodeId);
  if (!attached) return { error: 'RESUME_EXPIRED' };
  if (attached.previousNodeId !== ctx.config.nodeId) {
    ctx.control.send(attached.previousNodeId, {
      type: 'session.taken',
      sessionId: prior.sessionId,
      byNode: ctx.config.nodeId,
    });
  }
  return { session: prior };
}

/** Give the socket its session's actor: a local one waiting in `reconnecting`, or its own. */
function bindActor(conn: Connection, sessionId: string, userId: string, resumed: boolean): void {
  const { supervisor, connections } = conn.ctx;
  const { correlationId } = conn;
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
      existing.send({ type: 'transport.attached', connectionId: conn.id, correlationId });
      return;
    }
  }
  conn.actor.send({ type: 'hello.accepted', sessionId, userId, resumed, correlationId });
}
