/**
 * The backend's control over sessions, on the gateway's HTTP port (docs/admin.md):
 *
 * - `GET  /users/:userId/sessions` — the user's sessions (any process), block and revocation;
 * - `POST /users/:userId/disconnect`, `POST /sessions/:sessionId/disconnect` —
 *   `{ resumable?, reason? }`: close the transport (resumable, the default) or end the session;
 * - `POST /users/:userId/subscribe|unsubscribe`, `POST /sessions/:sessionId/subscribe|unsubscribe`
 *   — `{ channel }`: server-side subscriptions of live sessions, kept across resume;
 * - `POST /users/:userId/block` `{ reason?, ttlS? }`, `POST /users/:userId/unblock`;
 * - `POST /users/:userId/revoke` `{ before? }` — tokens issued before `before` (ms; now).
 *
 * A backend key (PUBLISH_API_KEYS) or ADMIN_API_KEY; every action leaves an audit line.
 * Orders reach every process through the control bus; what must hold even where no
 * process hears (a final disconnect, a block, a revocation) is written to Redis first.
 */
import { type Static, Type as T } from '@sinclair/typebox';
import type { Ajv } from 'ajv';
import type { GatewayCore } from '../core/gateway-core.ts';
import type { App, HttpRequest, HttpResponse } from '../edge/uws.ts';
import type { ControlBus } from '../redis/control-bus.ts';
import type { RedisSessionStore } from '../session/session-store.ts';
import { compiledOnUse, schemaAjv } from '../shared/ajv.ts';
import { CHANNEL_PATTERN, INBOX_PREFIX } from '../shared/frames.ts';
import { isUserId } from '../shared/identifiers.ts';
import {
  acceptBackend,
  answer,
  type BackendKeys,
  type BackendRequest,
  jsonBody,
  param,
  queryOf,
  RouteError,
  requireStore,
} from './backend-request.ts';
import type { ControlOrder, ControlTarget } from './control-order.ts';
import type { RedisRevocations } from './revocations.ts';
import { userSessions } from './user-sessions-report.ts';

const Reason = T.String({ minLength: 1, maxLength: 256 });
const DisconnectBody = T.Object(
  { resumable: T.Optional(T.Boolean()), reason: T.Optional(Reason) },
  { additionalProperties: false },
);
const ChannelBody = T.Object(
  { channel: T.String({ pattern: CHANNEL_PATTERN }) },
  { additionalProperties: false },
);
const BlockBody = T.Object(
  { reason: T.Optional(Reason), ttlS: T.Optional(T.Integer({ minimum: 1, maximum: 10 * 365 * 86_400 })) },
  { additionalProperties: false },
);
const EmptyBody = T.Object({}, { additionalProperties: false });
const RevokeBody = T.Object(
  { before: T.Optional(T.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
/**
 * How far ahead of now a revocation may reach. It never moves back and has no expiry, so a later
 * one would refuse every new token of the user for that long; and Redis keeps its time as a 64-bit
 * integer, which a far larger one wraps (docs/admin.md).
 */
const REVOKE_AHEAD_MAX_MS = 86_400_000;

let ajv: Ajv | undefined; // one for the five, made with the first of them
const bodyValidator = <T>(schema: object) =>
  compiledOnUse(() => {
    ajv ??= schemaAjv({ strict: true });
    return ajv.compile<T>(schema);
  });
const validate = {
  disconnect: bodyValidator<Static<typeof DisconnectBody>>(DisconnectBody),
  channel: bodyValidator<Static<typeof ChannelBody>>(ChannelBody),
  block: bodyValidator<Static<typeof BlockBody>>(BlockBody),
  revoke: bodyValidator<Static<typeof RevokeBody>>(RevokeBody),
  empty: bodyValidator<object>(EmptyBody),
};

const isSessionId = (value: string) => /^[A-Za-z0-9_-]{1,64}$/.test(value);

export interface ControlSources {
  core: GatewayCore;
  sessions: RedisSessionStore;
  revocations: RedisRevocations;
  bus: ControlBus;
  keys: BackendKeys;
}

export function mountControlRoutes(app: App, sources: ControlSources): void {
  const { core, sessions, revocations, bus, keys } = sources;
  const { logger } = core;
  type Handler = (request: BackendRequest, res: HttpResponse) => Promise<{ status?: number; body: object }>;
  const route = (method: 'get' | 'post', pattern: string, params: number, handler: Handler) =>
    app[method](pattern, (res: HttpResponse, req: HttpRequest) => {
      const request = acceptBackend(res, req, keys, logger, params);
      // No control route takes a query: a parameter given is a mistake the caller should hear of.
      if (request)
        answer(res, request, { logger, readiness: core.ports.readiness }, async () => {
          if (request.query !== '') {
            res.onData(() => {}); // refused unread: uWS needs the body consumed all the same
            queryOf(request, {});
          }
          return handler(request, res);
        });
    });
  const userOf = (request: BackendRequest) => param(request, 0, 'userId', isUserId);
  const targetOf = (request: BackendRequest, by: 'user' | 'session'): ControlTarget =>
    by === 'user' ? { userId: userOf(request) } : { sessionId: param(request, 0, 'sessionId', isSessionId) };
  const body = <T>(res: HttpResponse, check: (typeof validate)[keyof typeof validate]) =>
    jsonBody(res, core.config.maxMessageBytes, check as never) as Promise<T>;
  const ready = () => requireStore(core.ports.readiness);
  const audit = (request: BackendRequest, action: string, fields: object) =>
    logger.info(
      {
        audit: `control.${action}`,
        credential: request.credential,
        ip: request.ip,
        correlationId: request.correlationId,
        ...fields,
      },
      `control: ${action}`,
    );
  /** The sessions an order is aimed at, as Redis knows them (any process). */
  const sessionsOf = async (target: ControlTarget): Promise<string[]> => {
    if ('userId' in target) return sessions.byUser.sessionIds(target.userId);
    if (!(await sessions.load(target.sessionId)))
      throw new RouteError(404, 'NOT_FOUND', `no session ${target.sessionId}`);
    return [target.sessionId];
  };
  /** Ended in Redis, not only where an actor hears the order: no process may hold them (it died). */
  const endSessions = (ids: string[]) => Promise.all(ids.map((id) => sessions.end(id)));
  /**
   * Where a server-side subscription starts: the channel's newest event now, so what the backend
   * publishes once it has the answer is replayed to the session even if the order is still on
   * its way; a channel without replay (or ephemeral) starts when the order arrives.
   */
  const subscribedFrom = async (channel: string) => {
    const policy = core.policy(channel);
    if (!policy.replay || policy.ephemeral) return undefined;
    const { newest, epoch } = await core.ports.events.head(channel);
    return { after: newest, epoch };
  };
  const order = async (request: BackendRequest, what: ControlOrder, fields: object) => {
    const processes = await bus.broadcast(what);
    audit(request, what.kind, { ...fields, processes });
  };

  route('get', '/users/:userId/sessions', 1, async (request) => {
    const userId = userOf(request);
    ready();
    return { body: await userSessions(sessions, revocations, userId) };
  });

  for (const by of ['user', 'session'] as const) {
    const base = by === 'user' ? '/users/:userId' : '/sessions/:sessionId';
    route('post', `${base}/disconnect`, 1, async (request, res) => {
      const target = targetOf(request, by);
      const { resumable = true, reason } = await body<Static<typeof DisconnectBody>>(
        res,
        validate.disconnect,
      );
      ready();
      const ids = await sessionsOf(target);
      // A final disconnect holds even for a session no process hears about (its process is gone).
      if (!resumable) await endSessions(ids);
      await order(
        request,
        { kind: 'disconnect', target, resumable, reason },
        { ...target, resumable, reason, sessions: ids.length },
      );
      return { body: { ...target, resumable, sessions: ids } };
    });
    for (const kind of ['subscribe', 'unsubscribe'] as const)
      route('post', `${base}/${kind}`, 1, async (request, res) => {
        const target = targetOf(request, by);
        const { channel } = await body<Static<typeof ChannelBody>>(res, validate.channel);
        if (channel.startsWith(INBOX_PREFIX))
          throw new RouteError(403, 'FORBIDDEN_CHANNEL', 'inbox channels belong to their sessions');
        ready();
        const ids = await sessionsOf(target);
        const from = kind === 'subscribe' ? await subscribedFrom(channel) : undefined;
        await order(request, { kind, target, channel, from }, { ...target, channel, sessions: ids.length });
        return { body: { ...target, channel, sessions: ids } };
      });
  }

  route('post', '/users/:userId/block', 1, async (request, res) => {
    const userId = userOf(request);
    const { reason, ttlS } = await body<Static<typeof BlockBody>>(res, validate.block);
    ready();
    const block = await revocations.block(userId, reason, ttlS === undefined ? undefined : ttlS * 1000);
    // Ended in Redis too, as a final disconnect is: a session no actor hears the order for (its
    // process died, or a resume takes it over while the order passes) cannot outlive the block.
    const ids = await sessionsOf({ userId });
    await endSessions(ids);
    await order(request, { kind: 'block', userId, reason }, { userId, reason, ttlS, sessions: ids.length });
    return { body: { userId, blocked: block } };
  });

  route('post', '/users/:userId/unblock', 1, async (request, res) => {
    const userId = userOf(request);
    await body<object>(res, validate.empty);
    ready();
    const wasBlocked = await revocations.unblock(userId);
    audit(request, 'unblock', { userId, wasBlocked });
    return { body: { userId, blocked: null, wasBlocked } };
  });

  route('post', '/users/:userId/revoke', 1, async (request, res) => {
    const userId = userOf(request);
    const { before: asked = Date.now() } = await body<Static<typeof RevokeBody>>(res, validate.revoke);
    if (asked > Date.now() + REVOKE_AHEAD_MAX_MS)
      throw new RouteError(
        400,
        'MALFORMED_MESSAGE',
        `/before must be at most ${REVOKE_AHEAD_MAX_MS / 3_600_000} hours from now`,
      );
    ready();
    const before = await revocations.revoke(userId, asked);
    await order(request, { kind: 'revoke', userId, before }, { userId, before });
    return { body: { userId, tokensRevokedBefore: before } };
  });
}
