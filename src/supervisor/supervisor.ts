/**
 * The supervisor runtime of one gateway process: the pool actor (admission and
 * drain decisions) plus the registry of connection actors, which it owns in Maps
 * rather than as XState children (spawning into the pool's snapshot is O(n)).
 * Connection actors report to the pool by events; the pool's snapshot holds counts.
 */
import { type Actor, createActor } from 'xstate';
import { type PoolInput, poolMachine } from '../../machines/pool.machine.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { ConnectionActor } from './connection-actor.ts';

export type PoolActor = Actor<typeof poolMachine>;
export type ConnectionStateName = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export type AdmissionDecision = 'granted' | 'queued' | ErrorCode;

export interface SupervisorHooks {
  /** Close connected clients, `batchSize` at a time, until none is left. */
  drain(): void;
  /** Put a connection in the priority queue (the pool is saturated). */
  queue(connectionId: string, priority: number): void;
  /** Move waiters into free slots, in priority order. */
  admitFromQueue(): void;
  /** Close some of the lowest-priority connections. */
  shed(): void;
  /** A connection actor changed state. */
  onTransition?(actor: ConnectionActor, from: ConnectionStateName | undefined, to: ConnectionStateName): void;
}

export class Supervisor {
  readonly pool: PoolActor;
  /** Actors by session ID: connected ones and those waiting in `reconnecting`. */
  private readonly bySession = new Map<string, ConnectionActor>();
  private readonly states = new Map<ConnectionActor, ConnectionStateName>();
  private readonly counts: Record<ConnectionStateName, number> = {
    connecting: 0,
    connected: 0,
    reconnecting: 0,
    failed: 0,
    closed: 0,
  };
  private decision: AdmissionDecision | undefined;

  constructor(
    input: PoolInput,
    private readonly hooks: SupervisorHooks,
  ) {
    this.pool = createActor(
      poolMachine.provide({
        actions: {
          grantAdmission: () => {
            this.decision = 'granted';
          },
          queueAdmission: (_, { connectionId, priority }) => {
            this.decision = 'queued';
            hooks.queue(connectionId, priority);
          },
          refuseAdmission: (_, { code }) => {
            this.decision = code as ErrorCode;
          },
          // Deferred: actions run mid-step, before the snapshot they depend on exists.
          admitFromQueue: () => queueMicrotask(() => hooks.admitFromQueue()),
          shedLoad: () => queueMicrotask(() => hooks.shed()),
          drainConnections: () => hooks.drain(),
        },
      }),
      { input },
    );
    this.pool.start();
  }

  /** Ask the pool for a slot; the answer is synchronous. */
  requestAdmission(connectionId: string, priority: number): AdmissionDecision {
    this.decision = undefined;
    this.pool.send({ type: 'admission.requested', connectionId, priority });
    return this.decision ?? 'SERVER_BUSY';
  }

  /** A slot held by an admitted connection is free again. */
  release(connectionId: string): void {
    this.pool.send({ type: 'connection.released', connectionId });
  }

  /** A queued connection was admitted from the queue (`admitted`) or left it. */
  dequeued(connectionId: string, admitted: boolean): void {
    this.pool.send({ type: admitted ? 'admission.dequeued' : 'admission.abandoned', connectionId });
  }

  /** Free slots right now, for the queue to fill (0 unless accepting or saturated with normal pressure). */
  freeSlots(): number {
    const { context, value } = this.pool.getSnapshot();
    if (value === 'draining' || value === 'stopped' || context.pressure !== 'normal') return 0;
    return Math.max(0, context.maxConnections - context.active);
  }

  poolContext() {
    return this.pool.getSnapshot().context;
  }

  /** Start supervising an actor: track its state, forget it when it ends. */
  supervise(actor: ConnectionActor): void {
    actor.subscribe((snapshot) => {
      // `connecting` is compound ({ connecting: 'queued' }): counts and hooks use the top level.
      const to = topLevelState(snapshot.value);
      const from = this.states.get(actor);
      if (from === to) return;
      if (from) this.counts[from]--;
      this.counts[to]++;
      this.states.set(actor, to);
      const sessionId = snapshot.context.sessionId;
      if (sessionId && (to === 'connected' || to === 'reconnecting')) this.bySession.set(sessionId, actor);
      this.hooks.onTransition?.(actor, from, to);
      if (snapshot.status === 'done') this.forget(actor);
    });
    actor.start();
  }

  /** Stop tracking an actor that never got a session (merged into a resumed one). */
  discard(actor: ConnectionActor): void {
    const state = this.states.get(actor);
    if (state) this.counts[state]--;
    this.states.delete(actor);
    actor.stop();
  }

  sessionActor(sessionId: string): ConnectionActor | undefined {
    return this.bySession.get(sessionId);
  }

  /** Session IDs with a live transport in this process (their Redis TTL is refreshed). */
  *liveSessionIds(): Iterable<string> {
    for (const [id, actor] of this.bySession) if (this.states.get(actor) === 'connected') yield id;
  }

  stateCounts(): Readonly<Record<ConnectionStateName, number>> {
    return this.counts;
  }

  poolState(): string {
    return String(this.pool.getSnapshot().value);
  }

  /** Stop every actor without transitions: the process is exiting, Redis keeps the sessions. */
  stopAll(): void {
    for (const actor of this.states.keys()) actor.stop();
    this.states.clear();
    this.bySession.clear();
    this.pool.stop();
  }

  private forget(actor: ConnectionActor): void {
    const sessionId = actor.getSnapshot().context.sessionId;
    if (sessionId && this.bySession.get(sessionId) === actor) this.bySession.delete(sessionId);
    this.states.delete(actor);
  }
}

function topLevelState(value: string | Record<string, unknown>): ConnectionStateName {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as ConnectionStateName;
}
