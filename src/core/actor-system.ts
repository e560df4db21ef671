/**
 * One XState actor system for every connection actor of a process, and the
 * per-actor objects XState would give each of them made lighter.
 *
 * A root actor gets a system of its own — maps, a scheduler, a dozen closures —
 * about 2 KB of the ~5 KB an idle connection's actor costs (measured with 20K
 * started actors: 4.96 KB each with their own systems, 2.98 KB sharing one;
 * bench idle-memory gives the per-connection total). Actors share a system by
 * being children of one root. What this adds to that root:
 * - its scheduler is actor-timers.ts (one deadline heap and one Node timer), which
 *   also cancels an actor's timers on its stop in O(its timers): XState's walks every
 *   pending timer of the system, O(connections) per close;
 * - a child cannot be stopped directly: `release()` cancels its timers, which is
 *   all a stop at process exit needs (nothing else keeps an actor alive);
 * - each child's collections that stay empty or hold one item are swapped for shared
 *   or smaller ones (`lighten`): ~0.8 KB of an idle connection's actor.
 * The root itself has no states; what it hears from its children is their errors. It is
 * plain transition logic, not a machine: a machine memoizes its transitions per event type
 * for its life, and each child's end reaches its parent as an event of a type of its own
 * (`xstate.done.actor.<id>`, `xstate.error.actor.<id>`, the ID a counter), so a machine as
 * the root kept ~300 bytes for every connection actor that ever ended.
 */
import { type AnyActorRef, createActor, type EventObject, fromTransition } from 'xstate';
import { ActorTimers } from './actor-timers.ts';
import { OneOrMore } from './one-or-more.ts';

/** What this file reaches into: XState's actor and system fields it has no public API for. */
interface ActorInternals {
  _parent?: AnyActorRef;
  options: object;
  observers: unknown;
  eventListeners: unknown;
  _deferred: unknown[];
  _snapshot: { tags?: ReadonlySet<string>; children?: Record<string, unknown> };
}
interface SystemInternals {
  _register(sessionId: string, actor: AnyActorRef): string;
  _sendInspectionEvent(event: { type: string; actorRef: AnyActorRef }): void;
  _relay(source: AnyActorRef, target: AnyActorRef, event: EventObject): void;
}

/** A connection actor's tags (the machine has none) and children once its steps ended: shared, frozen. */
const NO_TAGS: ReadonlySet<string> = Object.freeze(new Set<string>());
const NO_CHILDREN: Record<string, never> = Object.freeze({});
/** A started child's options: XState reads its own (and the input in them) only while starting it. */
const STARTED: object = Object.freeze({});

/** A connection actor's emitted-event listeners: none (nothing calls `actor.on`); an empty Map is ~180 bytes. */
class NoListeners extends Map<string, Set<unknown>> {
  override set(): this {
    throw new Error('connection actors take no emitted-event listeners (src/core/actor-system.ts)');
  }
}
const NO_LISTENERS = new NoListeners();

export class SharedActorSystem {
  readonly root: AnyActorRef;
  private readonly timers: ActorTimers;

  /** @param onChildError - an actor failed (an exception in one of its actions or steps). */
  constructor(onChildError: (error: unknown) => void) {
    this.root = createActor(
      fromTransition((state: undefined, event: EventObject) => {
        if (event.type.startsWith('xstate.error.actor')) onChildError((event as { error?: unknown }).error);
        return state;
      }, undefined),
    ).start();
    const system = this.root.system as unknown as SystemInternals & AnyActorRef['system'];
    this.timers = new ActorTimers((source, target, event) => system._relay(source, target, event));
    system.scheduler.schedule = (source, target, event, delay, id) =>
      this.timers.schedule(source, target, event, delay, id);
    system.scheduler.cancel = (source, id) => this.timers.cancel(source, id);
    system.scheduler.cancelAll = (source) => this.timers.cancelAll(source);
    // XState's registry of the system's actors by session ID is written, never read (as of
    // xstate 5.33): one entry per connection for nothing.
    system._register = (sessionId) => sessionId;
    // XState announces each actor it creates and each snapshot it takes to its system:
    // the one place to see every child without wrapping `createActor`.
    const announce = system._sendInspectionEvent;
    system._sendInspectionEvent = (event) => {
      if ((event.actorRef as unknown as ActorInternals)._parent === this.root) {
        if (event.type === '@xstate.actor') this.lighten(event.actorRef as unknown as ActorInternals);
        else if (event.type === '@xstate.snapshot')
          this.lightenSnapshot(event.actorRef as unknown as ActorInternals);
      }
      announce(event);
    };
  }

  /** Cancel what `actor` has scheduled (it is not stopped: a child cannot be; it is dropped). */
  release(actor: AnyActorRef): void {
    this.timers.cancelAll(actor);
  }

  /** Timers `actor` has pending (for tests and diagnostics). */
  pendingTimers(actor: AnyActorRef): number {
    return this.timers.pending(actor);
  }

  /** A child was just created: its one observer (the supervisor) needs no Set, its no listeners no Map. */
  private lighten(actor: ActorInternals): void {
    actor.observers = new OneOrMore();
    actor.eventListeners = NO_LISTENERS;
  }

  /**
   * A child took a snapshot (its transition's deferred work is done): XState gives every
   * snapshot a tag Set, keeps a `children` object in dictionary mode once its invoked steps
   * ended (~180 bytes each), leaves its deferred-work array at the size it grew to, and
   * keeps the options (and input) it was started with.
   */
  private lightenSnapshot(actor: ActorInternals): void {
    const snapshot = actor._snapshot;
    if (snapshot.tags?.size === 0) snapshot.tags = NO_TAGS;
    if (snapshot.children && snapshot.children !== NO_CHILDREN && isEmpty(snapshot.children))
      snapshot.children = NO_CHILDREN;
    if (actor._deferred.length === 0) actor._deferred = [];
    actor.options = STARTED;
  }
}

function isEmpty(record: Record<string, unknown>): boolean {
  for (const _ in record) return false;
  return true;
}
