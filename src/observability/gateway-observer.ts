/**
 * One gateway's observability runtime: it watches actor lifecycles (never
 * traffic) and turns them into span events, metrics, a per-actor transition
 * history for `GET /connections/:id`, and — when INSPECT asks — live inspection.
 *
 * Connection actors report through the supervisor's `onTransition` hook; the pool
 * actor is subscribed to directly. Both fire on lifecycle changes only.
 */
import { context, trace } from '@opentelemetry/api';
import type { PoolContext } from '../../machines/pool.machine.ts';
import type { GatewayContext } from '../gateway/context.ts';
import type { ConnectionActor } from '../supervisor/connection-actor.ts';
import type { ConnectionStateName } from '../supervisor/supervisor.ts';
import type { ConnectionTrace } from './connection-trace.ts';
import { bindGatewayMetrics, type GatewayMetrics } from './gateway-metrics.ts';
import { LiveInspector } from './live-inspector.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_POOL_ACTIVE,
  ATTR_POOL_PRESSURE,
  ATTR_POOL_WAITING,
  ATTR_STATE_FROM,
  ATTR_STATE_TO,
} from './span-attributes.ts';
import { tracer } from './trace-context.ts';
import { TransitionHistory } from './transition-history.ts';

export class GatewayObserver {
  readonly history = new TransitionHistory<ConnectionActor>();
  private gatewayMetrics: GatewayMetrics | undefined;
  /** The trace of the socket an actor is (or was last) bound to: actors outlive sockets. */
  private readonly traces = new WeakMap<ConnectionActor, ConnectionTrace>();
  private inspector: LiveInspector | undefined;
  private unsubscribePool: (() => void) | undefined;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(private readonly ctx: GatewayContext) {}

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  get redisRoundTripMs(): number | undefined {
    return this.gatewayMetrics?.redisRoundTripMs;
  }

  start(): void {
    this.gatewayMetrics = bindGatewayMetrics(this.ctx);
    this.startInspector();
    this.unsubscribePool = this.watchPool();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribePool?.();
    this.gatewayMetrics?.stop();
    this.inspector?.stop();
  }

  /**
   * INSPECT: the bridge starts in the background (it loads @statelyai/inspect);
   * connection actors started before it listens are not inspected.
   */
  private startInspector(): void {
    const { inspect } = this.ctx.config;
    LiveInspector.start(inspect, this.ctx.logger)?.then(
      (inspector) => {
        if (this.stopped) return inspector.stop();
        this.inspector = inspector;
        inspector.attachPool(this.ctx.supervisor.pool);
      },
      (error: Error) =>
        this.ctx.logger.warn({ err: error, port: inspect.port }, 'live inspection: the bridge did not start'),
    );
  }

  /** Supervisor hook: a connection actor entered `to` (top-level state). */
  onTransition(actor: ConnectionActor, from: ConnectionStateName | undefined, to: ConnectionStateName): void {
    const { context: actorContext } = actor.getSnapshot();
    const conn = this.ctx.connections.get(actorContext.connectionId);
    if (conn) {
      // The actor starts when the socket opens, before hello opens the spans.
      if (from === undefined) conn.trace.useClientContext(this.ctx.config.traceClientContext);
      this.traces.set(actor, conn.trace);
    }
    const detail =
      to === 'failed' ? actorContext.failure : to === 'closed' ? actorContext.closeReason : undefined;
    this.history.record(actor, { at: Date.now(), from, to, connectionId: actorContext.connectionId, detail });
    this.traces
      .get(actor)
      ?.event(`state.${to}`, { [ATTR_STATE_TO]: to, ...(from ? { [ATTR_STATE_FROM]: from } : {}) });
    metrics.transitions.inc({ to });
    if (to === 'failed') metrics.sessionsFailed.inc({ reason: actorContext.failure ?? 'unknown' });
    if (this.inspector) {
      if (from === undefined) this.inspector.consider(actor, undefined);
      else if (to === 'connected') this.inspector.consider(actor, actorContext.userId);
    }
  }

  /**
   * Pool state changes become span events on whatever span caused them (the
   * admission that filled the pool), or a short `pool.transition` span when none
   * did (a resource sample); its counters become `tether_admissions_total`.
   */
  private watchPool(): () => void {
    const pool = this.ctx.supervisor.pool;
    let state = String(pool.getSnapshot().value);
    let counted: Pick<PoolContext, 'admitted' | 'queued' | 'refused'> = { ...pool.getSnapshot().context };
    const subscription = pool.subscribe((snapshot) => {
      const { admitted, queued, refused } = snapshot.context;
      if (admitted > counted.admitted)
        metrics.admissions.inc({ result: 'admitted' }, admitted - counted.admitted);
      if (queued > counted.queued) metrics.admissions.inc({ result: 'queued' }, queued - counted.queued);
      if (refused > counted.refused) metrics.admissions.inc({ result: 'refused' }, refused - counted.refused);
      counted = { admitted, queued, refused };
      const next = String(snapshot.value);
      if (next === state) return;
      const attributes = {
        [ATTR_STATE_FROM]: state,
        [ATTR_STATE_TO]: next,
        [ATTR_POOL_ACTIVE]: snapshot.context.active,
        [ATTR_POOL_WAITING]: snapshot.context.waiting,
        [ATTR_POOL_PRESSURE]: snapshot.context.pressure,
      };
      const active = trace.getSpan(context.active());
      if (active?.isRecording()) active.addEvent(`pool.${next}`, attributes);
      else tracer.startSpan('pool.transition', { attributes }).end();
      // accepting ⇄ saturated flips with every slot at capacity: only the rarer changes are news.
      const level =
        next === 'shedding' ? 'warn' : next === 'accepting' || next === 'saturated' ? 'debug' : 'info';
      this.ctx.logger[level]({ from: state, to: next, ...snapshot.context }, 'pool state changed');
      state = next;
    });
    return () => subscription.unsubscribe();
  }
}
