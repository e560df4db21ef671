/**
 * The last handshake step (the connection machine's `attaching`): start a new
 * session or take over the one hello asked to resume (on whichever process held it),
 * plan the replay of its channels, and send `welcome`. The replay itself starts once
 * the actor is `connected` (subscriptions.ts), after the frames held behind hello.
 *
 * When the resumed session's own actor waits in this process (in `reconnecting`, or
 * `connected` behind a half-open socket), the output says so and the machine hands
 * this socket over to it.
 */
import { randomUUID } from 'node:crypto';
import type { Attached } from '../../machines/connection.machine.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { ChannelResume } from '../shared/frames.ts';
import { mayRead } from './channel-access.ts';
import type { Connection } from './connection.ts';
import type { GatewayCore } from './gateway-core.ts';
import type { ChannelPosition, SessionRecord } from './ports/session-store.ts';
import type { Principal } from './principal.ts';
import { newResumeToken } from './resume-token.ts';
import { planChannels } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';

export async function attachSession(core: GatewayCore, conn: Connection): Promise<Attached> {
  const { hello, principal } = conn;
  if (!hello || !principal) throw new TetherError('INTERNAL', { detail: 'attach before authenticate' });
  const resumeTrace = hello.resume ? conn.trace.resumeBegan(hello.resume.sessionId) : undefined;
  let created: string | undefined;
  try {
    const attached = hello.resume ? await takeOver(core, conn, principal) : undefined;
    assertOpen(conn);
    const resumeError = attached && 'error' in attached ? attached.error : undefined;
    const taken = attached && 'session' in attached ? attached.session : undefined;
    const session = taken
      ? { record: taken, resumeToken: hello.resume?.resumeToken as string }
      : await createSession(core, conn);
    if (!taken) created = session.record.sessionId;
    assertOpen(conn);
    const resumed = taken !== undefined;
    conn.sessionId = session.record.sessionId;
    if (resumeError) conn.fail(resumeError);

    const plans = await planChannels(core, wantedChannels(core, conn, session.record, principal, resumed));
    assertOpen(conn);
    const channels: ChannelResume[] = [...plans].map(([channel, plan]) => ({
      channel,
      ...plan,
      ...(conn.serverChannels.has(channel) ? { server: true as const } : {}),
    }));
    const recovered = channels.every((c) => c.recovered);
    if (resumeTrace) {
      const result = resumeError ? (resumeError === 'RESUME_EXPIRED' ? 'expired' : 'rejected') : 'resumed';
      resumeTrace.settled(result, recovered);
      core.lifecycle.resumed(result, recovered);
    }
    conn.send({
      type: 'welcome',
      sessionId: session.record.sessionId,
      resumeToken: session.resumeToken,
      connectionId: conn.id,
      correlationId: conn.correlationId,
      userId: principal.userId,
      resumed,
      recovered,
      channels,
      heartbeatMs: core.heartbeatMs,
      maxMessageBytes: core.config.maxMessageBytes,
      resumeWindowMs: core.config.resumeWindowMs,
      serverTime: Date.now(),
      tokenExpiresAt: principal.expiresAt,
    });
    conn.pendingReplay = { plans, trace: resumeTrace };
    conn.logger.info(
      { sessionId: session.record.sessionId, resumed, channels: channels.length },
      'session ready',
    );
    const owner = resumed ? core.supervisor.sessionActor(session.record.sessionId) : undefined;
    return {
      sessionId: session.record.sessionId,
      userId: principal.userId,
      correlationId: conn.correlationId,
      handedOver: owner !== undefined && owner !== conn.actor,
      resumed,
    };
  } catch (error) {
    resumeTrace?.failed(error);
    // A session started for a socket that closed before welcome (a block or a final disconnect
    // refused it meanwhile, or the client left): nobody holds its resume token, so it goes.
    if (created && !conn.isOpen)
      core.ports.sessions
        .deleteIfOwner(created, conn.id)
        .catch((err: unknown) => conn.logger.warn({ err }, 'session store: delete failed'));
    throw error;
  } finally {
    // The hello (its token) and the resumed record are not needed past the handshake: an idle
    // connection must not keep them.
    conn.hello = undefined;
    conn.resumable = undefined;
  }
}

function assertOpen(conn: Connection): void {
  if (!conn.isOpen) throw new TetherError('INTERNAL', { detail: 'the socket closed during the handshake' });
}

/** Take the session over from whichever connection (and process) held it last. */
async function takeOver(
  core: GatewayCore,
  conn: Connection,
  principal: Principal,
): Promise<{ session: SessionRecord } | { error: ErrorCode }> {
  const prior = conn.resumable;
  const { sessions, notices } = core.ports;
  const { nodeId } = core.config;
  if (!prior) {
    // Either gone (window passed, bye) or the token does not match: say which.
    const sessionId = conn.hello?.resume?.sessionId as string;
    return { error: (await sessions.load(sessionId)) ? 'RESUME_REJECTED' : 'RESUME_EXPIRED' };
  }
  if (prior.userId !== principal.userId) return { error: 'RESUME_REJECTED' };
  const attached = await sessions.attach(prior.sessionId, conn.id, nodeId);
  if (!attached) return { error: 'RESUME_EXPIRED' };
  if (attached.previousNodeId !== nodeId)
    notices.sessionTaken(attached.previousNodeId, prior.sessionId, attached.previousConnectionId);
  else if (attached.previousConnectionId !== conn.id)
    retireReplaced(core, attached.previousConnectionId, nodeId);
  return { session: prior };
}

/**
 * Close the connection a takeover replaced, if it is open on this process, wherever it is in
 * its life. Handing the transport to the session's actor retires the one that actor holds,
 * but when resumes of one session race (a client that resumed twice at once) the replaced
 * one may still be in its handshake — its actor `connecting`, deaf to `session.taken` — or
 * welcomed with an actor of its own: either would stay live beside the taker. Closed with
 * SERVICE_RESTART its actor waits to be resumed, as on any drop; the taker owns the session.
 */
export function retireReplaced(core: GatewayCore, connectionId: string, byNode: string): void {
  core.connections.get(connectionId)?.close('SERVICE_RESTART', { detail: `session resumed on ${byNode}` });
}

async function createSession(
  core: GatewayCore,
  conn: Connection,
): Promise<{ record: SessionRecord; resumeToken: string }> {
  const principal = conn.principal as Principal;
  const fresh = newResumeToken();
  const record: SessionRecord = {
    sessionId: randomUUID(),
    connectionId: conn.id,
    userId: principal.userId,
    nodeId: core.config.nodeId,
    correlationId: conn.correlationId,
    channels: new Map(),
    connectedAt: Date.now(),
    lastActivity: Date.now(),
    clientInfo: { ip: conn.handshake.ip, userAgent: conn.handshake.userAgent, ...conn.hello?.client },
    health: 'connected',
    reconnectionCount: 0,
    errorCount: 0,
    tier: principal.tier,
    resumeTokenHash: fresh.hash,
  };
  await core.ports.sessions.create(record);
  return { record, resumeToken: fresh.token };
}

/**
 * The resumed session's channels, each re-checked against the (possibly new) token,
 * from the client's positions where it gave them, else the session's. Keyed by a Map
 * and read with own-property lookups: a channel may be named `__proto__`.
 */
function wantedChannels(
  core: GatewayCore,
  conn: Connection,
  session: SessionRecord,
  principal: Principal,
  resumed: boolean,
): Map<string, ChannelPosition> {
  const wanted = new Map<string, ChannelPosition>();
  if (!resumed) return wanted;
  const given = conn.hello?.resume;
  for (const [channel, stored] of session.channels) {
    // The backend's server-side subscriptions stay whatever the token says.
    if (stored.server) conn.addServerChannel(channel);
    else if (!mayRead(principal.channels, session.sessionId, channel)) {
      conn.fail('FORBIDDEN_CHANNEL', { detail: `dropped ${channel} on resume` });
      core.ports.presence.unsubscribed(channel, session.sessionId);
      continue;
    }
    const after = ownValue(given?.lastEventIds, channel);
    // A client that gives no epoch with its ID is in the one the session last recorded for it.
    wanted.set(
      channel,
      after === undefined ? stored : { after, epoch: ownValue(given?.epochs, channel) ?? stored.epoch },
    );
  }
  return wanted;
}

function ownValue(record: Record<string, string> | undefined, key: string): string | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}
