/**
 * The delayed events of every connection actor of a process (XState's `after`
 * transitions): one deadline heap and one Node timer for all of them, in place of
 * XState's own scheduler, which holds a Node `Timeout` and its closure, a scheduled-event
 * record and two entries keyed by a built string per pending event — ~550 bytes for the
 * token-expiry timer every idle connection holds, against ~150 here
 * (bench/connection-memory.ts measures it).
 *
 * Same contract as XState's scheduler (`schedule`, `cancel`, `cancelAll` by source): events
 * are delivered at their time, those due at the same time in the order they were scheduled;
 * a schedule under an ID already pending replaces it. Each actor's own timers are a short
 * list, so ending an actor cancels its own in O(its timers) — not a walk over every
 * pending timer of the process (O(connections) per close, O(n²) in a reconnect storm).
 */
import type { AnyActorRef, EventObject } from 'xstate';

interface Timer {
  due: number;
  /** Ties between equal `due`s: the first scheduled goes first. */
  seq: number;
  /** Its place in the heap (kept there, so a cancel removes it in O(log n)). */
  at: number;
  source: AnyActorRef;
  target: AnyActorRef;
  event: EventObject;
  id: string;
  /** The source's next pending timer. */
  next: Timer | undefined;
}

type Deliver = (source: AnyActorRef, target: AnyActorRef, event: EventObject) => void;

export class ActorTimers {
  private readonly heap: Timer[] = [];
  /** The first of each source's pending timers (the rest follow by `next`). */
  private readonly bySource = new Map<AnyActorRef, Timer>();
  private seq = 0;
  private armed: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  /** @param deliver - hands a due event to its target (XState's `system._relay`). */
  constructor(private readonly deliver: Deliver) {}

  schedule(source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id?: string): void {
    const seq = ++this.seq;
    const key = id ?? `timer.${seq}`;
    this.cancel(source, key);
    const timer: Timer = {
      due: Date.now() + delay,
      seq,
      at: this.heap.length,
      source,
      target,
      event,
      id: key,
      next: this.bySource.get(source),
    };
    this.bySource.set(source, timer);
    this.heap.push(timer);
    this.up(timer.at);
    this.arm();
  }

  cancel(source: AnyActorRef, id: string): void {
    let previous: Timer | undefined;
    for (let timer = this.bySource.get(source); timer; previous = timer, timer = timer.next) {
      if (timer.id !== id) continue;
      if (previous) previous.next = timer.next;
      else if (timer.next) this.bySource.set(source, timer.next);
      else this.bySource.delete(source);
      this.remove(timer);
      return;
    }
  }

  cancelAll(source: AnyActorRef): void {
    for (let timer = this.bySource.get(source); timer; timer = timer.next) this.remove(timer);
    this.bySource.delete(source);
  }

  pending(source: AnyActorRef): number {
    let count = 0;
    for (let timer = this.bySource.get(source); timer; timer = timer.next) count++;
    return count;
  }

  private readonly fire = (): void => {
    this.armed = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    try {
      // A delivery may schedule or cancel timers (the target's transition runs now).
      for (let top = this.heap[0]; top && top.due <= now; top = this.heap[0]) {
        this.cancel(top.source, top.id);
        this.deliver(top.source, top.target, top.event);
      }
    } finally {
      this.arm();
    }
  };

  /** The Node timer waits for the earliest deadline (or nothing, when none is pending). */
  private arm(): void {
    const top = this.heap[0];
    if (this.armed && top && top.due >= this.armedFor) return;
    if (this.armed) clearTimeout(this.armed);
    this.armed = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (!top) return;
    this.armedFor = top.due;
    this.armed = setTimeout(this.fire, Math.max(0, top.due - Date.now()));
  }

  private remove(timer: Timer): void {
    const heap = this.heap;
    const last = heap.pop() as Timer;
    if (last === timer) return;
    heap[timer.at] = last;
    last.at = timer.at;
    this.down(last.at);
    this.up(last.at);
  }

  private before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private up(at: number): void {
    const heap = this.heap;
    const timer = heap[at] as Timer;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt] as Timer;
      if (!this.before(timer, parent)) break;
      heap[at] = parent;
      parent.at = at;
      at = parentAt;
    }
    heap[at] = timer;
    timer.at = at;
  }

  private down(at: number): void {
    const heap = this.heap;
    const timer = heap[at] as Timer;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && this.before(heap[right] as Timer, heap[left] as Timer) ? right : left;
      if (!this.before(heap[child] as Timer, timer)) break;
      heap[at] = heap[child] as Timer;
      (heap[at] as Timer).at = at;
      at = child;
    }
    heap[at] = timer;
    timer.at = at;
  }
}
