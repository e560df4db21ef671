/**
 * The composition root of one gateway process — the only module that knows every
 * part. It builds the adapters (Redis stores, the channel reader, the token
 * verifier, limits, the admission line, actions, telemetry), hands them to the
 * core as its ports, mounts the edge's routes, and owns the order in which
 * everything starts and stops. docs/architecture.md draws the result.
 */
import { ActionDispatcher } from './actions/action-dispatcher.ts';
import { mountAdminRoutes } from './admin/admin-routes.ts';
import { ConnectionWatch } from './admin/connection-watch.ts';
import { BullAdmissionLine } from './admission/admission-line.ts';
import { AdmissionQueue } from './admission/admission-queue.ts';
import { ResourceMonitor } from './admission/resource-monitor.ts';
import { createTokenVerifier, type JwtVerifier } from './auth/token-verifier.ts';
import { confirmAckedAfterReconnect } from './channels/acked-positions.ts';
import { RedisChannelOccupancy } from './channels/channel-occupancy.ts';
import { ChannelReader } from './channels/channel-reader.ts';
import { EventLog } from './channels/event-log.ts';
import { fanOutEvent } from './channels/fan-out.ts';
import type { Config } from './config/config.ts';
import { ConfigError } from './config/config-error.ts';
import { channelPolicy } from './config/namespaces.ts';
import { mountControlRoutes } from './control/control-routes.ts';
import { RedisRevocations } from './control/revocations.ts';
import { SessionControl } from './control/session-control.ts';
import { retireReplaced } from './core/attach-session.ts';
import { compressFrom } from './core/compression.ts';
import { connectionActorFactory } from './core/connection-runtime.ts';
import { closeRemaining, drainConnections } from './core/drain.ts';
import { channelTopic } from './core/event-frames.ts';
import { GatewayCore } from './core/gateway-core.ts';
import { tierPriority } from './core/principal.ts';
import { BackpressureWatch, edgeBackpressureLimit } from './core/slow-consumers.ts';
import { Supervisor } from './core/supervisor.ts';
import { mountSse, type SseEndpoint } from './edge/sse/sse-endpoint.ts';
import { postBodyLimit } from './edge/sse/sse-messages.ts';
import { publisherFor, SseStreams } from './edge/sse/sse-streams.ts';
import {
  closeListenSocket,
  createApp,
  edgeInfo,
  heartbeatTiming,
  type ListenSocket,
  listen,
  listeningPort,
} from './edge/uws.ts';
import { mountWebSocket } from './edge/ws-endpoint.ts';
import { ApiKeys } from './http/api-keys.ts';
import { mountHttpRoutes } from './http/http-routes.ts';
import { TrustedProxies } from './limits/client-address.ts';
import { ConnectionLimits } from './limits/connection-limits.ts';
import { RateLimits } from './limits/rate-limits.ts';
import { LifecycleNotifier } from './notifications/lifecycle-notifier.ts';
import { gatewayMetrics } from './observability/gateway-metrics.ts';
import { GatewayObserver } from './observability/gateway-observer.ts';
import type { Logger } from './observability/logger.ts';
import { metrics } from './observability/metrics.ts';
import { GatewayTelemetry } from './observability/telemetry.ts';
import { mountPages } from './pages/pages-route.ts';
import { ChannelPresence } from './presence/channel-presence.ts';
import { MembershipFeed } from './presence/membership-feed.ts';
import { mountPresenceRoute } from './presence/presence-route.ts';
import { PresenceTracker } from './presence/presence-tracker.ts';
import { ControlBus } from './redis/control-bus.ts';
import { redisKeys } from './redis/keys.ts';
import { claimNodeIdStart, NodePresence } from './redis/node-presence.ts';
import { type ConnectedRedis, connectRedis, quitRedis } from './redis/redis-clients.ts';
import { defaultActionShards } from './redis/redis-target.ts';
import { StoreHealth } from './redis/store-health.ts';
import { RedisSessionStore } from './session/session-store.ts';
import { UserSessionIndex } from './session/user-sessions.ts';

export { ListenError } from './edge/uws.ts';
export { RedisUnreachableError } from './redis/redis-clients.ts';

export interface Gateway {
  readonly core: GatewayCore;
  readonly port: number;
  /** Development mode only: mints client tokens. */
  readonly mintDevToken: JwtVerifier['mint'];
  /** Channels this process reads from Redis (it has local subscribers for them). */
  channelsRead(): number;
  readonly resources: ResourceMonitor;
  /** Stop accepting, close clients with 1012 in batches, flush Redis, release everything. */
  shutdown(): Promise<void>;
}

export async function startGateway(config: Config, redisUrl: string, logger: Logger): Promise<Gateway> {
  const redis = await connectRedis(
    redisUrl,
    config.nodeId,
    logger,
    config.redisPubSub,
    config.publishAck.replicas,
  );
  const keys = redisKeys(config.redisPrefix);
  const control = new ControlBus(redis.commands, redis.subscriber, config.redisPrefix, config.nodeId, logger);
  const releaseStartClaim = await claimNodeIdStart(redis.commands, keys, config.nodeId);
  await refuseTakenNodeId(redis, control, config, logger, releaseStartClaim);
  const app = createApp(config.edge);
  // The SSE fallback's streams (src/edge/sse/): a channel's publish reaches them and the edge's sockets.
  const sseStreams = new SseStreams(
    config.nodeId,
    edgeBackpressureLimit(config.maxBackpressureBytes),
    config.idleTimeoutS * 1000,
    config.compression,
    postBodyLimit(config.maxMessageBytes),
  );
  const topics = publisherFor(app, sseStreams);
  const store = new StoreHealth(redis.commands, {
    onRoundTrip: (ms) => metrics.redisRoundTrip.observe(ms / 1000),
    answering: [redis.commands, redis.appends, redis.feed, ...redis.acks],
    // Waiters in the admission line are told, not left in silence (machines/pool.machine.ts).
    onUnavailable: () => supervisor.pool.send({ type: 'store.unavailable' }),
  });
  const policy = channelPolicy(config.channels);
  const events = new EventLog(
    redis.commands,
    keys,
    (channel) => {
      const { historyMaxEvents, historyMaxAgeMs } = policy(channel);
      return { maxEvents: historyMaxEvents, maxAgeMs: historyMaxAgeMs };
    },
    {
      pubsub: redis.pubsub,
      appendConnection: redis.appends,
      ackReplicas: config.publishAck.replicas,
      ackConnections: redis.acks,
      ackTimeoutMs: config.publishAck.timeoutMs,
      unusedTtlMs: config.unusedLogTtlMs,
      historyLost: (channel) =>
        logger.warn(
          { channel },
          'an append found an event this process had acked gone from the log (a failover lost it): the channel has a new epoch',
        ),
    },
  );
  confirmAckedAfterReconnect(redis.commands, events, logger);
  const notifier = new LifecycleNotifier(events, {
    nodeId: config.nodeId,
    ...config.lifecycleEvents,
    logger,
  });
  const occupancy = new RedisChannelOccupancy(redis.commands, keys, {
    nodeId: config.nodeId,
    prefix: config.redisPrefix,
    leaseMs: config.sessionLeaseMs,
    countAll: config.lifecycleEvents.channels,
    changed: (change) => notifier.channelChanged(change),
    logger,
  });
  const node = new NodePresence(redis.commands, keys, config.nodeId, config.sessionLeaseMs);
  const limits = new ConnectionLimits(
    new RateLimits(redis.commands, config.redisPrefix, config.limits, config.sessionLeaseMs),
  );
  const actions = new ActionDispatcher(
    redis.bull,
    config,
    logger,
    redis.outage,
    (tier) => tierPriority(config.admission.tierPriorities, tier),
    config.actions.queueShards ?? defaultActionShards(redis.target),
    events,
  );
  const telemetry = new GatewayTelemetry(logger, config.traceClientContext);
  const sessions = new RedisSessionStore(
    redis.commands,
    keys,
    {
      liveTtlMs: config.resumeWindowMs + 2 * config.sessionLeaseMs,
      resumeWindowMs: config.resumeWindowMs,
      leaseMs: config.sessionLeaseMs,
    },
    new UserSessionIndex(redis.commands, config.redisPrefix),
  );
  const revocations = new RedisRevocations(redis.commands, config.redisPrefix);
  // A member's lease outlives two missed refreshes, like a process's own (node-presence.ts).
  const channelPresence = new ChannelPresence(
    redis.commands,
    config.redisPrefix,
    config.nodeId,
    3 * config.sessionLeaseMs,
  );
  const membership = new MembershipFeed(
    redis.subscriber,
    channelPresence,
    (channel, text) => {
      topics.publish(channelTopic(channel), text, false, false);
      core.direct.deliver(channel, text, false);
    },
    logger,
  );
  const presence = new PresenceTracker(channelPresence, policy, membership, logger);
  // Development mode: one secret for every process on this Redis, so a dev token outlives a restart.
  const verifier = await createTokenVerifier(config.auth, config.devMode, {
    redis: redis.commands,
    prefix: config.redisPrefix,
  });
  // A fan-out wakes the slow-consumer watch: uWS sends topic events with no per-socket call to check.
  const backpressure = new BackpressureWatch(() => core.connections.values());
  const reader = new ChannelReader(
    redis.feed,
    events,
    keys,
    {
      deliver: (channel, event) => {
        const subscribers = fanOutEvent(topics, core.direct, channel, event, compressFrom(config));
        backpressure.wake();
        return subscribers;
      },
      missed: (channel, why, epoch) => {
        const detail =
          why === 'trimmed'
            ? `events of ${channel} were trimmed before delivery`
            : `the log of ${channel} lost events before delivery (Redis lost or restored its data)`;
        // One loss, one SERVICE_RESTART: a subscriber already in the log's new epoch heard
        // `recovered: false` when it subscribed (a client back from this loss's first close).
        for (const conn of core.connections.values())
          if (
            conn.subscriptions.has(channel) &&
            (epoch === undefined || conn.subscriptionEpoch(channel) !== epoch)
          )
            conn.close('SERVICE_RESTART', { detail });
      },
    },
    logger,
    redis.pubsub,
  );
  // The line and the supervisor need each other (and the core): wired through closures.
  const admissionQueue: AdmissionQueue = new AdmissionQueue({
    connection: redis.bull,
    redisPrefix: config.redisPrefix,
    nodeId: config.nodeId,
    logger,
    redisErrors: redis.outage,
    admit: (connectionId, waitedMs): boolean => {
      const admitted = supervisor.dequeued(connectionId);
      if (admitted) core.connections.get(connectionId)?.logger.info({ waitedMs }, 'admitted from queue');
      return admitted;
    },
  });
  const line: BullAdmissionLine = new BullAdmissionLine({
    queue: admissionQueue,
    connectionOf: (id) => core.connections.get(id),
    connections: () => core.connections.values(),
    freeSlots: (): number => supervisor.freeSlots(),
    shedBatchRatio: config.admission.shedBatchRatio,
    logger,
  });
  const supervisor: Supervisor = new Supervisor(
    { maxConnections: config.maxConnections, maxWaiting: config.admission.queueMax },
    line,
    {
      drain: () => void drainConnections(core, config.drainBatchSize),
      actorFailed: (error) => logger.error({ err: error }, 'connection actor failed'),
    },
  );
  const core: GatewayCore = new GatewayCore(
    config,
    {
      events,
      feed: reader,
      occupancy,
      verifier,
      sessions,
      notices: control,
      gate: limits,
      actions,
      readiness: store,
      telemetry,
      presence,
      revocations,
    },
    supervisor,
    logger,
    heartbeatTiming(config.idleTimeoutS).pingAfterMs,
    policy,
  );
  core.lifecycle.listen(limits);
  notifier.watch(supervisor);
  presence.listen(supervisor);
  const sessionControl = new SessionControl(core, logger);
  sessionControl.start();
  const observer = new GatewayObserver(core, telemetry);
  const watch = new ConnectionWatch(supervisor, config.inspect, logger);

  let sse: SseEndpoint | undefined; // mounted with the routes, below
  control.on((notice) => {
    if (notice.type === 'order') {
      sessionControl.execute(notice.order);
      return;
    }
    if (notice.type === 'sse.frames') {
      const delivered = sse?.relayed(notice) ?? 'unknown';
      control.answer(notice, delivered === 'refused' ? delivered : delivered === 'held');
      return;
    }
    // A notice about a connection this session no longer has here is stale: a resume here
    // took the session back after that takeover (resumes raced), and it stays.
    const actor = supervisor.sessionActor(notice.sessionId);
    const current = actor?.getSnapshot().context.connectionId;
    if (!notice.connectionId || current === undefined || current === notice.connectionId) {
      presence.forget(notice.sessionId); // the taker holds its memberships now
      // Told before its socket is closed: closed first, the edge can report the close at
      // once, and the actor would wait in `reconnecting` for a resume that already happened.
      actor?.send({ type: 'session.taken', byNode: notice.byNode });
    }
    if (notice.connectionId) retireReplaced(core, notice.connectionId, notice.byNode);
  });
  await node.beat(); // before the admission queue exists: cleanup must see this process alive
  await admissionQueue.start();
  await control.start();
  await releaseStartClaim(); // listening: a later start under this ID meets the roll call
  reader.start();
  occupancy.start();
  actions.start();
  store.start();
  backpressure.start();
  const resources = new ResourceMonitor(
    config.admission,
    () => backpressure.bufferedBytes(),
    (sample, changed) => {
      // Which measure it was: a shed must be explainable from the log alone.
      if (sample.pressure === 'critical') logger.warn({ sample }, 'resource pressure critical');
      if (changed || sample.pressure === 'critical')
        supervisor.pool.send({ type: 'resources.sampled', pressure: sample.pressure });
    },
  );
  resources.start();
  observer.start();
  watch.start();
  let draining = false;
  const isDraining = () => draining;
  const trustedProxies = new TrustedProxies(config.limits.trustedProxies);
  const createActor = connectionActorFactory(core);
  mountWebSocket(app, core, createActor, trustedProxies);
  sse = mountSse(app, core, createActor, trustedProxies, sseStreams, async (nodeId, frames) => {
    const answer = await control.ask(nodeId, { type: 'sse.frames', ...frames });
    if (answer === 'no answer' || answer === 'refused') return answer;
    return answer === true ? 'held' : 'unknown';
  });
  const gauges = gatewayMetrics({
    stateCounts: () => supervisor.stateCounts(),
    poolState: () => supervisor.poolState(),
    poolContext: () => supervisor.poolContext(),
    openSockets: () => core.connections.size,
    channelsRead: () => reader.channelCount(),
    actionsWaiting: () => actions.depth(),
    storeReady: () => store.isReady(),
    rateLimitHits: () => limits.limits.stats.hits,
    longestStallMs: () => resources.longestLagMs(),
  });
  mountAdminRoutes(app, {
    core,
    redis: redis.commands,
    store,
    watch,
    metrics: gauges,
    resources,
    channelsRead: () => reader.channelCount(),
    actionsWaiting: () => actions.depth(),
    rateLimitHits: () => limits.limits.stats.hits,
    startedAt: Date.now(),
    edge: edgeInfo(app),
    sseStreams: () => sseStreams.size,
    isDraining,
    forwardedIgnored: () => trustedProxies.ignoredWhileEmpty,
  });
  const pages = mountPages(app, gauges.registry, (error) =>
    logger.warn({ err: error }, 'pages: bundles unavailable'),
  );
  const publishKeys = new ApiKeys(config.publishApiKeys);
  const backendKeys = {
    backend: publishKeys,
    admin: new ApiKeys(config.adminApiKey ? [config.adminApiKey] : []),
  };
  mountPresenceRoute(app, core, backendKeys);
  mountControlRoutes(app, { core, sessions, revocations, bus: control, keys: backendKeys });
  mountHttpRoutes(app, core, {
    publishKeys,
    trustedProxies,
    verifier,
    isDraining,
  });

  const lease = setInterval(() => {
    Promise.all([
      sessions.refreshLeases(liveSessions(supervisor)),
      limits.refresh(),
      node.beat(),
      presence.refresh(),
    ]).catch((error) => logger.warn({ err: error }, 'lease refresh failed'));
  }, config.sessionLeaseMs);
  lease.unref();

  let listenSocket: ListenSocket | undefined;
  let stopped: Promise<void> | undefined;
  const shutdown = () => {
    stopped ??= (async () => {
      draining = true;
      if (listenSocket) closeListenSocket(listenSocket);
      listenSocket = undefined;
      clearInterval(lease);
      resources.stop();
      backpressure.stop();
      pages.stop();
      await drained(supervisor, config.drainTimeoutMs);
      closeRemaining(core);
      // One PING answered means every earlier command on the connection was applied.
      const answered = await Promise.race([
        redis.commands.ping().then(
          () => true,
          () => false,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), 1000)),
      ]);
      occupancy.stop();
      await boundedIf(true, notifier.flushed()); // sessions that ended in the drain
      // BullMQ's connections retry without limit: during a Redis outage their closes
      // would wait for Redis forever, so bound them (nothing is left to flush anyway).
      // An unanswered PING is one too: a frozen or partitioned Redis keeps its
      // connections open, and the health check may not have noticed it yet.
      const outage = !answered || !store.isReady();
      if (!answered) logger.warn('redis not answering; not waiting for it');
      await boundedIf(outage, reader.stop());
      await boundedIf(outage, actions.close());
      await boundedIf(outage, admissionQueue.close());
      await boundedIf(outage, node.leave());
      membership.stop();
      supervisor.stopAll();
      observer.stop();
      watch.stop();
      store.stop();
      await quitRedis(redis, { wait: !outage });
      logger.info('stopped');
    })();
    return stopped;
  };
  try {
    listenSocket = await listen(app, config.host, config.port, { reusePort: config.reusePort });
  } catch (error) {
    await shutdown(); // everything above started: stop it, so the refusal leaves nothing running
    throw error;
  }
  const port = listeningPort(listenSocket);
  logger.info({ host: config.host, port, reusePort: config.reusePort }, 'listening');
  if (config.production && config.allowedOrigins.length === 0)
    logger.warn(
      { allowedOrigins: 'any' },
      'ALLOWED_ORIGINS is unset: a page on ANY web site can open a WebSocket to this gateway in its visitors’ browsers — set ALLOWED_ORIGINS=https://your.app (ops/nginx/README.md)',
    );
  return {
    core,
    port,
    mintDevToken: verifier.mint,
    channelsRead: () => reader.channelCount(),
    resources,
    shutdown,
  };
}

/**
 * Before anything is named by the node ID in Redis (the admission queue, cleared at start,
 * is): a live process already under it is a configuration error, not a predecessor's leftovers.
 */
async function refuseTakenNodeId(
  redis: ConnectedRedis,
  control: ControlBus,
  config: Config,
  logger: Logger,
  releaseStartClaim: () => Promise<void>,
): Promise<void> {
  const holder = await control.nodeIdHolder();
  if (holder === 'silent')
    logger.warn(
      { nodeId: config.nodeId },
      'a connection listens under this NODE_ID and did not answer the roll call: taken for one whose process is gone',
    );
  if (holder !== 'live') return;
  await releaseStartClaim();
  await quitRedis(redis);
  throw new ConfigError([
    `NODE_ID=${JSON.stringify(config.nodeId)}: a live gateway process on this Redis runs under this ID; give each process its own (the default, host-pid, is)`,
  ]);
}

/** Live sessions with their users, for the lease refresh (the user index is refreshed with them). */
function* liveSessions(supervisor: Supervisor): Iterable<{ sessionId: string; userId: string }> {
  for (const sessionId of supervisor.liveSessionIds()) {
    const userId = supervisor.sessionActor(sessionId)?.getSnapshot().context.userId;
    if (userId) yield { sessionId, userId };
  }
}

const OUTAGE_CLOSE_MS = 1000;

function boundedIf(bounded: boolean, closing: Promise<unknown>): Promise<unknown> {
  if (!bounded) return closing;
  return Promise.race([closing.catch(() => {}), new Promise((r) => setTimeout(r, OUTAGE_CLOSE_MS).unref())]);
}

/** Ask the pool to drain; resolves when it reports drained or the timeout passes. */
function drained(supervisor: Supervisor, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const deadline = setTimeout(resolve, timeoutMs);
    supervisor.pool.subscribe((snapshot) => {
      if (snapshot.status === 'done') {
        clearTimeout(deadline);
        resolve();
      }
    });
    supervisor.pool.send({ type: 'pool.drain' });
  });
}
