/**
 * One gateway's observability runtime. It listens — to the connection actors'
 * transitions (through the supervisor), to the core's lifecycle announcements and
 * to the pool actor — and turns what it hears into metrics, span events, and the
 * spans that follow the machine's states (`ws.handshake`, `ws.admission`). Never
 * traffic: every one of these fires on lifecycle changes only.
 */
import { context, trace } from '@opentelemetry/api';
import type { PoolContext } from '../../machines/pool.machine.ts';
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import { errorSpec } from '../shared/errors.ts';
import type { ObservedConnectionTrace } from './connection-trace.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_ENDUSER_ID,
  ATTR_ERROR_CATEGORY,
  ATTR_ERROR_CODE,
  ATTR_POOL_ACTIVE,
  ATTR_POOL_PRESSURE,
  ATTR_POOL_WAITING,
  ATTR_SESSION_ID,
  ATTR_STATE_FROM,
  ATTR_STATE_TO,
  ATTR_TIER,
} from './span-attributes.ts';
import type { GatewayTelemetry } from './telemetry.ts';
import { tracer } from './trace-context.ts';

const ADMITTING = 'connecting.handshake.admitting';
const QUEUED = 'connecting.queued';
const ATTACHING = 'connecting.handshake.attaching';

export class GatewayObserver {
  /** The trace of the socket an actor is (or was last) bound to: actors outlive sockets. */
  private readonly traces = new WeakMap<ConnectionActor, ObservedConnectionTrace>();
  /** When an actor waiting for the pool's answer or in line asked for a slot (performance.now()). */
  private readonly askedAt = new WeakMap<ConnectionActor, number>();
  private unsubscribePool: (() => void) | undefined;

  constructor(
    private readonly core: GatewayCore,
    private readonly telemetry: GatewayTelemetry,
  ) {}

  start(): void {
    const { telemetry } = this;
    this.core.supervisor.onTransition((actor, from, to, fromTop, toTop) =>
      this.onTransition(actor, from, to, fromTop, toTop),
    );
    this.core.lifecycle.listen({
      opened: () => metrics.connectionsOpened.inc(),
      closed: (conn) => telemetry.forget(conn.id),
      errorReported: (conn, code) => {
        const { category } = errorSpec(code);
        metrics.errors.inc({ code, category });
        if (code === 'LOAD_SHED') metrics.shed.inc();
        conn.trace.event('tether.error', { [ATTR_ERROR_CODE]: code, [ATTR_ERROR_CATEGORY]: category });
      },
      resumed: (result, recovered) => metrics.resumes.inc({ result, recovered: String(recovered) }),
      replayed: (count) => {
        metrics.replays.inc();
        metrics.replayedEvents.inc(count);
      },
    });
    this.unsubscribePool = this.watchPool();
  }

  stop(): void {
    this.unsubscribePool?.();
  }

  /** A connection actor moved from state `from` to `to` (full names, e.g. `connecting.queued`; and top levels). */
  private onTransition(
    actor: ConnectionActor,
    from: string | undefined,
    to: string,
    fromTop: string | undefined,
    toTop: string,
  ): void {
    const actorContext = actor.getSnapshot().context;
    const live = this.telemetry.traceOf(actorContext.connectionId);
    if (live) this.traces.set(actor, live);
    const connectionTrace = this.traces.get(actor);
    if (fromTop !== toTop) {
      connectionTrace?.event(`state.${toTop}`, {
        [ATTR_STATE_TO]: toTop,
        ...(fromTop ? { [ATTR_STATE_FROM]: fromTop } : {}),
      });
      metrics.transitions.inc({ to: toTop });
      if (toTop === 'failed') metrics.sessionsFailed.inc({ reason: actorContext.failure ?? 'unknown' });
    }
    this.followAdmission(actor, connectionTrace, from, to);
    if (connectionTrace && fromTop === 'connecting' && toTop !== 'connecting') {
      const welcomed = toTop === 'connected' || toTop === 'handedOver';
      connectionTrace.handshakeEnded(welcomed, {
        ...(actorContext.userId ? { [ATTR_ENDUSER_ID]: actorContext.userId } : {}),
        ...(actorContext.tier ? { [ATTR_TIER]: actorContext.tier } : {}),
        ...(welcomed && actorContext.sessionId ? { [ATTR_SESSION_ID]: actorContext.sessionId } : {}),
      });
    }
  }

  /**
   * The `ws.admission` span and the wait histogram, from the admission states: the
   * pool's answer is `granted` (a slot at once), or a wait in line that ends
   * `admitted`, `timeout` or `left`; `refused` when there was no room in line either.
   */
  private followAdmission(
    actor: ConnectionActor,
    connectionTrace: ObservedConnectionTrace | undefined,
    from: string | undefined,
    to: string,
  ): void {
    if (to === ADMITTING) {
      this.askedAt.set(actor, performance.now());
      connectionTrace?.admissionBegan(actor.getSnapshot().context.priority ?? 0);
      return;
    }
    if (from !== ADMITTING && from !== QUEUED) return;
    if (to === QUEUED) {
      connectionTrace?.admissionQueued();
      return;
    }
    // The admission is over: its entry goes, so idle connections keep none (~60 bytes each).
    const waitedMs = performance.now() - (this.askedAt.get(actor) ?? performance.now());
    this.askedAt.delete(actor);
    const outcome =
      from === ADMITTING
        ? to === ATTACHING
          ? 'granted'
          : 'refused'
        : to === ATTACHING
          ? 'admitted'
          : actor.getSnapshot().context.failure === 'ADMISSION_TIMEOUT'
            ? 'timeout'
            : 'left';
    connectionTrace?.admissionEnded(outcome, waitedMs);
    if (from === QUEUED) metrics.admissionWait.observe({ outcome }, waitedMs / 1000);
  }

  /**
   * Pool state changes become span events on whatever span caused them (the
   * admission that filled the pool), or a short `pool.transition` span when none
   * did (a resource sample); its counters become `tether_admissions_total`.
   */
  private watchPool(): () => void {
    const { pool } = this.core.supervisor;
    const { logger } = this.core;
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
      logger[level]({ from: state, to: next, ...snapshot.context }, 'pool state changed');
      state = next;
    });
    return () => subscription.unsubscribe();
  }
}
