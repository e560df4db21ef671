/**
 * The supervisor runtime of one gateway process: the pool actor (admission and
 * drain decisions) plus the registry of connection actors, which it owns in Maps
 * rather than as XState children (spawning into the pool's snapshot is O(n)).
 * Connection actors report to the pool by events; the pool's snapshot holds counts.
 *
 * The pool's decision on a request is its own output (it emits admission.granted,
 * .queued or .refused); the supervisor hands it to the asking connection's actor,
 * and keeps the one fact the pool's counts cannot: which connections hold a slot.
 */
import { type Actor, createActor } from 'xstate';
import { type AdmissionDecision, type PoolInput, poolMachine } from '../../machines/pool.machine.ts';
import { SharedActorSystem } from './actor-system.ts';
import type { ConnectionActor } from './connection-actor.ts';
import type { AdmissionLine } from './ports/admission-line.ts';

export type PoolActor = Actor<typeof poolMachine>;
/** States an actor stays in (a gauge counts them now). */
export type LiveStateName = 'connecting' | 'connected' | 'reconnecting';
/** Final states: the actor ends there and is forgotten, so they are counted since start. */
export type EndStateName = 'failed' | 'closed' | 'handedOver';
export type ConnectionStateName = LiveStateName | EndStateName;

export interface SupervisorHooks {
  /** Close connected clients in batches until none is left, then send `pool.drained`. */
  drain(): void;
  /** A connection actor failed: an exception in one of its actions or steps. */
  actorFailed(error: unknown): void;
}

/** What the supervisor keeps of each actor: its state (full name and top level) and its socket. */
interface Tracked {
  state?: string;
  top?: ConnectionStateName;
  connectionId: string;
}

/**
 * A connection actor changed state; states by full name, e.g. `connecting.queued`, and by
 * top level (`connecting`), which the supervisor knows already: listeners need not split names.
 */
export type TransitionListener = (
  actor: ConnectionActor,
  from: string | undefined,
  to: string,
  fromTop: ConnectionStateName | undefined,
  toTop: ConnectionStateName,
) => void;

export class Supervisor {
  readonly pool: PoolActor;
  /** The one XState system every connection actor of this process belongs to. */
  readonly actorSystem: SharedActorSystem;
  /** Actors by session ID: connected ones and those waiting in `reconnecting`. */
  private readonly bySession = new Map<string, ConnectionActor>();
  /** Actors by the connection ID of the socket they are bound to. */
  private readonly byConnection = new Map<string, ConnectionActor>();
  /** Connections holding a slot: released when their socket closes. */
  private readonly slots = new Set<string>();
  /** Each supervised actor's state (full name) and the connection ID it is bound to. */
  private readonly tracked = new Map<ConnectionActor, Tracked>();
  private readonly transitionListeners: TransitionListener[] = [];
  private readonly live: Record<LiveStateName, number> = { connecting: 0, connected: 0, reconnecting: 0 };
  private readonly ended: Record<EndStateName, number> = { failed: 0, closed: 0, handedOver: 0 };

  constructor(
    input: PoolInput,
    private readonly line: AdmissionLine,
    hooks: SupervisorHooks,
  ) {
    this.actorSystem = new SharedActorSystem(hooks.actorFailed);
    this.pool = createActor(
      poolMachine.provide({
        actions: {
          enqueue: (_, { connectionId, priority }) => line.enqueue(connectionId, priority),
          // Deferred: actions run mid-step, before the snapshot they depend on exists.
          admitFromQueue: () => queueMicrotask(() => line.fill()),
          shedLoad: () => queueMicrotask(() => line.shed()),
          drainConnections: () => hooks.drain(),
          dismissWaiters: (_, { code }) => queueMicrotask(() => this.dismissWaiters(code)),
        },
      }),
      { input },
    );
    this.pool.on('*', (decision) => this.decided(decision));
    this.pool.start();
  }

  /** The actor of `connectionId` asks for a slot for its socket; the pool answers it with an event. */
  requestAdmission(connectionId: string, priority: number): void {
    this.pool.send({ type: 'admission.requested', connectionId, priority });
  }

  /** A waiter reached the front of the line; false when it is no longer waiting. */
  dequeued(connectionId: string): boolean {
    const actor = this.byConnection.get(connectionId);
    if (!actor?.getSnapshot().matches({ connecting: 'queued' })) return false;
    this.pool.send({ type: 'admission.dequeued', connectionId });
    return true;
  }

  /** The socket of `connectionId` closed: its slot, if it held one, is free again. */
  release(connectionId: string): void {
    if (this.slots.delete(connectionId)) this.pool.send({ type: 'connection.released', connectionId });
  }

  holdsSlot(connectionId: string): boolean {
    return this.slots.has(connectionId);
  }

  /** Free slots right now, for the line to fill (0 unless accepting or saturated with normal pressure). */
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
    const entry: Tracked = { connectionId: actor.getSnapshot().context.connectionId };
    this.tracked.set(actor, entry);
    this.byConnection.set(entry.connectionId, actor);
    // Runs on every snapshot of every connection actor (five per handshake): no allocation
    // unless the state changed.
    actor.subscribe((snapshot) => {
      if (snapshot.context.connectionId !== entry.connectionId)
        this.rebind(actor, entry, snapshot.context.connectionId);
      const to = stateName(snapshot.value);
      const from = entry.state;
      if (from === to) return;
      entry.state = to;
      const top = topState(snapshot.value);
      const fromTop = entry.top;
      if (fromTop !== top) {
        if (fromTop && isLive(fromTop)) this.live[fromTop]--;
        if (isLive(top)) this.live[top]++;
        else this.ended[top]++;
        entry.top = top;
      }
      if (from === 'connecting.queued' && to !== 'connecting.handshake.attaching') this.leftLine(snapshot);
      const sessionId = snapshot.context.sessionId;
      if (sessionId && (top === 'connected' || top === 'reconnecting')) this.bySession.set(sessionId, actor);
      for (const listener of this.transitionListeners) listener(actor, from, to, fromTop, top);
      if (snapshot.status === 'done') this.forget(actor);
    });
    actor.start();
  }

  /** Be told of every connection actor's state changes (observability, admin). */
  onTransition(listener: TransitionListener): void {
    this.transitionListeners.push(listener);
  }

  sessionActor(sessionId: string): ConnectionActor | undefined {
    return this.bySession.get(sessionId);
  }

  /** Session IDs with a live transport in this process (their Redis TTL is refreshed). */
  *liveSessionIds(): Iterable<string> {
    for (const [id, actor] of this.bySession) if (this.tracked.get(actor)?.state === 'connected') yield id;
  }

  /** Actors in each live state now. */
  stateCounts(): Readonly<Record<LiveStateName, number>> {
    return this.live;
  }

  /** Actors that ended in each final state since the process started. */
  endedCounts(): Readonly<Record<EndStateName, number>> {
    return this.ended;
  }

  poolState(): string {
    return String(this.pool.getSnapshot().value);
  }

  /** Release every actor without transitions: the process is exiting, Redis keeps the sessions. */
  stopAll(): void {
    for (const actor of this.tracked.keys()) this.actorSystem.release(actor);
    this.tracked.clear();
    this.bySession.clear();
    this.byConnection.clear();
    this.pool.stop();
  }

  /** The pool answered a request: hand the answer to the actor that asked. */
  private decided(decision: AdmissionDecision): void {
    const actor = this.byConnection.get(decision.connectionId);
    if (decision.type === 'admission.granted') this.slots.add(decision.connectionId);
    if (!actor) return;
    if (decision.type === 'admission.refused') actor.send({ type: 'admission.refused', code: decision.code });
    else actor.send({ type: decision.type });
  }

  /** Refuse every connection waiting in line with `code`: each actor closes its socket and leaves the line. */
  private dismissWaiters(code: string): void {
    for (const [actor, entry] of this.tracked)
      if (entry.state === 'connecting.queued') actor.send({ type: 'admission.refused', code });
  }

  /** A waiter left the line without being admitted (closed, timed out). */
  private leftLine(snapshot: ReturnType<ConnectionActor['getSnapshot']>): void {
    const { connectionId } = snapshot.context;
    this.line.leave(connectionId);
    this.pool.send({ type: 'admission.abandoned', connectionId });
  }

  /** The actor took over another socket (a resume): look it up by the new connection ID only. */
  private rebind(actor: ConnectionActor, entry: Tracked, connectionId: string): void {
    if (this.byConnection.get(entry.connectionId) === actor) this.byConnection.delete(entry.connectionId);
    entry.connectionId = connectionId;
    this.byConnection.set(connectionId, actor);
  }

  private forget(actor: ConnectionActor): void {
    const { sessionId, connectionId } = actor.getSnapshot().context;
    if (sessionId && this.bySession.get(sessionId) === actor) this.bySession.delete(sessionId);
    if (this.byConnection.get(connectionId) === actor) this.byConnection.delete(connectionId);
    this.tracked.delete(actor);
  }
}

/** `connecting.handshake.attaching` from `{ connecting: { handshake: 'attaching' } }`. */
export function stateName(value: string | Record<string, unknown>): string {
  if (typeof value === 'string') return value;
  for (const key in value) return `${key}.${stateName(value[key] as string | Record<string, unknown>)}`;
  return '';
}

function isLive(state: ConnectionStateName): state is LiveStateName {
  return state === 'connecting' || state === 'connected' || state === 'reconnecting';
}

/** `connecting` from `{ connecting: { handshake: 'attaching' } }`. */
function topState(value: string | Record<string, unknown>): ConnectionStateName {
  if (typeof value === 'string') return value as ConnectionStateName;
  for (const key in value) return key as ConnectionStateName;
  return 'connecting';
}
