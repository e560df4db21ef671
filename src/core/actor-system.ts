/**
 * One XState actor system for every connection actor of a process.
 *
 * A root actor gets a system of its own — maps, a scheduler, a dozen closures —
 * about 2 KB of the ~5 KB an idle connection's actor costs (measured with 20K
 * started actors: 4.96 KB each with their own systems, 2.98 KB sharing one;
 * bench idle-memory gives the per-connection total). Actors share a system by
 * being children of one root. Two things XState leaves to that root:
 * - its scheduler's `cancelAll` walks every pending timer of the whole system on
 *   each actor's stop (a connection ending): O(connections) per close, O(n²) in a
 *   reconnect storm. The shared scheduler keeps each actor's timers in an index,
 *   so a stop cancels its own, in O(its timers);
 * - a child cannot be stopped directly: `release()` cancels its timers, which is
 *   all a stop at process exit needs (nothing else keeps an actor alive).
 * The root itself has no states; what it hears from its children is their errors.
 */
import { type AnyActorRef, createActor, createMachine, type EventObject } from 'xstate';

export class SharedActorSystem {
  readonly root: AnyActorRef;
  /**
   * Pending timer IDs by the actor that scheduled them: an array, not a Set — an actor has
   * one to three, and an empty Set's hash table (~200 bytes) would cost every idle
   * connection more than the IDs it holds (bench/connection-memory.ts measures it).
   */
  private readonly timers = new Map<AnyActorRef, string[]>();

  /** @param onChildError - an actor failed (an exception in one of its actions or steps). */
  constructor(onChildError: (error: unknown) => void) {
    this.root = createActor(
      createMachine({
        on: {
          '*': {
            actions: ({ event }) => {
              if (event.type.startsWith('xstate.error.actor'))
                onChildError((event as { error?: unknown }).error);
            },
          },
        },
      }),
    ).start();
    this.indexTimers();
  }

  /** Cancel what `actor` has scheduled (it is not stopped: a child cannot be; it is dropped). */
  release(actor: AnyActorRef): void {
    this.root.system.scheduler.cancelAll(actor);
  }

  /** Timers `actor` has pending (for tests and diagnostics). */
  pendingTimers(actor: AnyActorRef): number {
    return this.timers.get(actor)?.length ?? 0;
  }

  private indexTimers(): void {
    const { scheduler } = this.root.system;
    const schedule = scheduler.schedule.bind(scheduler);
    const cancel = scheduler.cancel.bind(scheduler);
    const forget = (source: AnyActorRef, id: string) => {
      const ids = this.timers.get(source);
      const at = ids ? ids.indexOf(id) : -1;
      if (!ids || at < 0) return;
      ids.splice(at, 1);
      if (ids.length === 0) this.timers.delete(source);
    };
    // A timer that fires stays indexed until its state is left (XState cancels it then) or
    // the actor ends: a few IDs per actor at most, and cancelling a fired one is a no-op.
    scheduler.schedule = (
      source,
      target,
      event: EventObject,
      delay,
      id = Math.random().toString(36).slice(2),
    ) => {
      const ids = this.timers.get(source);
      if (!ids) this.timers.set(source, [id]);
      else if (!ids.includes(id)) ids.push(id);
      schedule(source, target, event, delay, id);
    };
    scheduler.cancel = (source, id) => {
      forget(source, id);
      cancel(source, id);
    };
    scheduler.cancelAll = (source) => {
      for (const id of this.timers.get(source) ?? []) cancel(source, id);
      this.timers.delete(source);
    };
  }
}
