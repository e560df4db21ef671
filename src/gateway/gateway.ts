/**
 * The composition root of one gateway process: Redis connections, stores, the
 * channel reader, the supervisor with admission and limits, the uWS app — and the
 * order in which they start and stop.
 */
import { ActionDispatcher } from '../actions/action-dispatcher.ts';
import { bullPrefix } from '../actions/action-job.ts';
import { AdmissionController } from '../admission/admission-controller.ts';
import { AdmissionQueue } from '../admission/admission-queue.ts';
import { ResourceMonitor } from '../admission/resource-monitor.ts';
import { createTokenVerifier } from '../auth/token-verifier.ts';
import { ChannelReader } from '../channels/channel-reader.ts';
import { EventLog } from '../channels/event-log.ts';
import type { Config } from '../config/config.ts';
import { closeListenSocket, createApp, type ListenSocket, listen, listeningPort } from '../edge/uws.ts';
import { mountAdminRoutes } from '../http/admin-routes.ts';
import { ApiKeys } from '../http/api-keys.ts';
import { mountHttpRoutes } from '../http/http-routes.ts';
import { TrustedProxies } from '../limits/client-address.ts';
import { ConnectionLimits } from '../limits/connection-limits.ts';
import { RateLimits } from '../limits/rate-limits.ts';
import { fanOutEvent } from '../observability/event-delivery.ts';
import { GatewayObserver } from '../observability/gateway-observer.ts';
import type { Logger } from '../observability/logger.ts';
import { mountPages } from '../pages/pages-route.ts';
import { ControlBus } from '../redis/control-bus.ts';
import { redisKeys } from '../redis/keys.ts';
import { NodePresence } from '../redis/node-presence.ts';
import { SessionStore } from '../session/session-store.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import type { Connection } from './connection.ts';
import type { GatewayContext } from './context.ts';
import { drainConnections } from './drain.ts';
import { connectRedis, quitRedis } from './redis-clients.ts';
import { mountWebSocket } from './ws-endpoint.ts';

export { RedisUnreachableError } from './redis-clients.ts';

export interface Gateway {
  readonly ctx: GatewayContext;
  readonly port: number;
  readonly resources: ResourceMonitor;
  /** Stop accepting, close clients with 1012 in batches, flush Redis, release everything. */
  shutdown(): Promise<void>;
}

export async function startGateway(config: Config, redisUrl: string, logger: Logger): Promise<Gateway> {
  const redis = await connectRedis(redisUrl, config.nodeId, logger);
  const keys = redisKeys(config.redisPrefix);
  const app = createApp();
  const events = new EventLog(redis.commands, keys, config.channelRetention);
  const connections = new Map<string, Connection>();
  const presence = new NodePresence(redis.commands, keys, config.nodeId, config.sessionLeaseMs);
  const admissionQueue = new AdmissionQueue({
    connection: redis.bull,
    bullPrefix: bullPrefix(config.redisPrefix),
    nodeId: config.nodeId,
    logger,
    admit: (connectionId, waitedMs) => ctx.admission.onAdmitted(connectionId, waitedMs),
  });
  let draining = false;
  const ctx: GatewayContext = {
    config,
    logger,
    app,
    redis: redis.commands,
    sessions: new SessionStore(redis.commands, keys, {
      liveTtlMs: config.resumeWindowMs + 2 * config.sessionLeaseMs,
      resumeWindowMs: config.resumeWindowMs,
    }),
    events,
    reader: new ChannelReader(
      redis.feed,
      events,
      keys,
      {
        deliver: (channel, event) => fanOutEvent(app, channel, event),
        missed: (channel) => {
          for (const conn of connections.values())
            if (conn.subscriptions.has(channel))
              conn.close('SERVICE_RESTART', { detail: `events of ${channel} were trimmed before delivery` });
        },
      },
      logger,
    ),
    // Development mode: one secret for every process on this Redis, so a dev token outlives a restart.
    verifier: await createTokenVerifier(config.auth, config.devMode, {
      redis: redis.commands,
      prefix: config.redisPrefix,
    }),
    supervisor: new Supervisor(
      { maxConnections: config.maxConnections, maxWaiting: config.admission.queueMax },
      {
        drain: () => void drainConnections(ctx, config.drainBatchSize),
        queue: (connectionId, priority) => ctx.admission.onQueued(connectionId, priority),
        admitFromQueue: () => void ctx.admission.fill(),
        shed: () => ctx.admission.shed(),
        onTransition: (actor, from, to) => observer.onTransition(actor, from, to),
      },
    ),
    control: new ControlBus(redis.commands, redis.subscriber, config.redisPrefix, config.nodeId, logger),
    admission: undefined as unknown as AdmissionController, // set just below: it needs ctx
    trustedProxies: new TrustedProxies(config.limits.trustedProxies),
    limits: new ConnectionLimits(
      new RateLimits(redis.commands, config.redisPrefix, config.limits, config.sessionLeaseMs),
    ),
    actions: new ActionDispatcher(redis.bull, config, logger, (tier) => ctx.admission.priorityOf(tier)),
    connections,
  };
  ctx.admission = new AdmissionController(ctx, admissionQueue);
  const observer = new GatewayObserver(ctx);

  ctx.control.on((notice) => {
    if (notice.type !== 'session.taken') return;
    const actor = ctx.supervisor.sessionActor(notice.sessionId);
    if (!actor) return;
    ctx.connections.get(actor.getSnapshot().context.connectionId)?.close('SERVICE_RESTART', {
      detail: `session resumed on ${notice.byNode}`,
    });
    actor.send({ type: 'session.taken' });
  });
  await presence.beat(); // before the admission queue exists: cleanup must see this process alive
  await admissionQueue.start();
  await ctx.control.start();
  ctx.reader.start();
  ctx.actions.start();
  const resources = new ResourceMonitor(
    config.admission,
    () => bufferedBytes(connections),
    (sample, changed) => {
      if (changed || sample.pressure === 'critical') {
        ctx.supervisor.pool.send({ type: 'resources.sampled', pressure: sample.pressure });
      }
    },
  );
  resources.start();
  observer.start();
  mountWebSocket(ctx);
  mountAdminRoutes(ctx, { observer, resources, isDraining: () => draining });
  mountPages(app, (error) => logger.warn({ err: error }, 'pages: bundles unavailable'));
  mountHttpRoutes(ctx, { publishKeys: new ApiKeys(config.publishApiKeys), isDraining: () => draining });

  const lease = setInterval(() => {
    Promise.all([
      ctx.sessions.refreshLeases(ctx.supervisor.liveSessionIds()),
      ctx.limits.refresh(),
      presence.beat(),
    ]).catch((error) => logger.warn({ err: error }, 'lease refresh failed'));
  }, config.sessionLeaseMs);
  lease.unref();

  let listenSocket: ListenSocket | undefined = await listen(app, config.host, config.port);
  const port = listeningPort(listenSocket);
  logger.info({ host: config.host, port }, 'listening');

  let stopped: Promise<void> | undefined;
  const shutdown = () => {
    stopped ??= (async () => {
      draining = true;
      if (listenSocket) closeListenSocket(listenSocket);
      listenSocket = undefined;
      clearInterval(lease);
      resources.stop();
      await drained(ctx, config.drainTimeoutMs);
      for (const conn of [...connections.values()]) conn.ws?.close(); // past the drain timeout
      // One PING answered means every earlier command on the connection was applied.
      await Promise.race([redis.commands.ping().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
      await ctx.reader.stop();
      // BullMQ's connections retry without limit: during a Redis outage their closes
      // would wait for Redis forever, so bound them (nothing is left to flush anyway).
      const outage = redis.commands.status !== 'ready';
      await boundedIf(outage, ctx.actions.close());
      await boundedIf(outage, admissionQueue.close());
      await boundedIf(outage, presence.leave());
      ctx.supervisor.stopAll();
      observer.stop();
      await quitRedis(redis);
      logger.info('stopped');
    })();
    return stopped;
  };
  return { ctx, port, resources, shutdown };
}

const OUTAGE_CLOSE_MS = 1000;

function boundedIf(bounded: boolean, closing: Promise<unknown>): Promise<unknown> {
  if (!bounded) return closing;
  return Promise.race([closing.catch(() => {}), new Promise((r) => setTimeout(r, OUTAGE_CLOSE_MS).unref())]);
}

/** Ask the pool to drain; resolves when it reports drained or the timeout passes. */
function drained(ctx: GatewayContext, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const deadline = setTimeout(resolve, timeoutMs);
    ctx.supervisor.pool.subscribe((snapshot) => {
      if (snapshot.status === 'done') {
        clearTimeout(deadline);
        resolve();
      }
    });
    ctx.supervisor.pool.send({ type: 'pool.drain' });
  });
}

function bufferedBytes(connections: Map<string, Connection>): number {
  let total = 0;
  for (const conn of connections.values()) total += conn.ws?.getBufferedAmount() ?? 0;
  return total;
}
