import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, createActor, createMachine, fromPromise } from 'xstate';
import { SharedActorSystem } from '../../src/core/actor-system.ts';
import { ActorTimers } from '../../src/core/actor-timers.ts';
import { OneOrMore } from '../../src/core/one-or-more.ts';

/** A machine with a long timer in its first state and a final state a `finish` event reaches. */
const waiting = createMachine({
  initial: 'waiting',
  states: {
    waiting: {
      after: { 60000: 'timedOut' },
      on: {
        finish: 'done',
        fail: {
          actions: () => {
            throw new Error('boom');
          },
        },
      },
    },
    timedOut: {},
    done: { type: 'final' },
  },
});

function childOf(system: SharedActorSystem) {
  return createActor(waiting, { parent: system.root }).start();
}

describe('SharedActorSystem', () => {
  it('puts every child on the one system of its root', () => {
    const system = new SharedActorSystem(() => {});
    const a = childOf(system);
    const b = childOf(system);
    expect(a.system).toBe(system.root.system);
    expect(b.system).toBe(a.system);
  });

  it("cancels an actor's own timers when it ends, and no one else's", () => {
    const system = new SharedActorSystem(() => {});
    const a = childOf(system);
    const b = childOf(system);
    expect(system.pendingTimers(a)).toBe(1);
    expect(system.pendingTimers(b)).toBe(1);
    a.send({ type: 'finish' });
    expect(a.getSnapshot().status).toBe('done');
    expect(system.pendingTimers(a)).toBe(0);
    expect(system.pendingTimers(b)).toBe(1);
  });

  it('release stops the timers of an actor that never ended, so the process can exit', () => {
    const system = new SharedActorSystem(() => {});
    const a = childOf(system);
    system.release(a);
    expect(system.pendingTimers(a)).toBe(0);
  });

  it('reports an exception in a child to the error hook instead of throwing into the caller', () => {
    const errors: unknown[] = [];
    const system = new SharedActorSystem((error) => errors.push(error));
    const a = childOf(system);
    a.send({ type: 'fail' });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('boom');
    expect(a.getSnapshot().status).toBe('error');
  });

  it('forgets a timer cancelled by leaving its state', () => {
    const system = new SharedActorSystem(() => {});
    const machine = createMachine({
      initial: 'a',
      states: { a: { after: { 60000: 'b' }, on: { go: 'b' } }, b: {} },
    });
    const actor = createActor(machine, { parent: system.root }).start();
    expect(system.pendingTimers(actor)).toBe(1);
    actor.send({ type: 'go' });
    expect(system.pendingTimers(actor)).toBe(0);
  });
});

describe('SharedActorSystem timers (fake clock)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("fires a child's `after` transition at its time, and a released one never", () => {
    const system = new SharedActorSystem(() => {});
    const a = childOf(system);
    const b = childOf(system);
    system.release(b);
    vi.advanceTimersByTime(59_999);
    expect(a.getSnapshot().value).toBe('waiting');
    vi.advanceTimersByTime(1);
    expect(a.getSnapshot().value).toBe('timedOut');
    expect(system.pendingTimers(a)).toBe(0);
    vi.advanceTimersByTime(120_000);
    expect(b.getSnapshot().value).toBe('waiting');
    expect(vi.getTimerCount()).toBe(0); // nothing left to keep the process alive
  });
});

describe('SharedActorSystem lightens its children', () => {
  const stepping = createMachine({
    initial: 'working',
    states: {
      working: { invoke: { src: fromPromise(async () => 1), onDone: 'idle' } },
      idle: { on: { again: 'working' } },
    },
  });

  it('after an invoked step: no tags, no children, subscribers still told, and `on` refused', async () => {
    const system = new SharedActorSystem(() => {});
    const actor = createActor(stepping, { parent: system.root });
    const seen: string[] = [];
    const second: string[] = [];
    actor.subscribe((snapshot) => seen.push(String(snapshot.value)));
    const sub = actor.subscribe((snapshot) => second.push(String(snapshot.value)));
    actor.start();
    await vi.waitFor(() => expect(actor.getSnapshot().value).toBe('idle'));
    sub.unsubscribe();
    actor.send({ type: 'again' });
    await vi.waitFor(() => expect(seen).toEqual(['working', 'idle', 'working', 'idle']));
    expect(second).toEqual(['working', 'idle']);
    const snapshot = actor.getSnapshot();
    expect(snapshot.children).toEqual({});
    expect(snapshot.hasTag('any' as never)).toBe(false);
    expect(() => actor.on('*', () => {})).toThrow(/no emitted-event listeners/);
  });

  it('keeps nothing per ended child: a process that churns connections does not grow', () => {
    // XState memoizes a machine's transitions per event type, and a child's end reaches its
    // parent as `xstate.done.actor.<its id>` (`xstate.error.actor.<id>` when it failed): with a
    // machine as the root, every connection actor that ever ended left an entry (~300 bytes)
    // for the life of the process. Measured on the heap after a full collection.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const system = new SharedActorSystem(() => {});
    const churn = (count: number) => {
      for (let i = 0; i < count; i++) {
        const actor = childOf(system);
        if (i % 10 === 0) actor.send({ type: 'fail' });
        else actor.send({ type: 'finish' });
      }
    };
    churn(2000); // warm-up: code, shapes and caches that do not grow with the count
    gc();
    const before = process.memoryUsage().heapUsed;
    churn(20_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(1_000_000);
  });

  it('leaves actors outside the system alone', () => {
    new SharedActorSystem(() => {});
    const own = createActor(waiting).start();
    expect(() => own.on('*', () => {})).not.toThrow();
    own.stop();
  });
});

describe('ActorTimers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const source = (name: string) => ({ id: name }) as unknown as AnyActorRef;

  it('delivers in due order, ties in the order scheduled, each once', () => {
    const got: string[] = [];
    const timers = new ActorTimers((_, __, event) => got.push(event.type));
    const [a, b] = [source('a'), source('b')];
    timers.schedule(a, a, { type: 'a300' }, 300, 'x');
    timers.schedule(b, b, { type: 'b100' }, 100, 'x');
    timers.schedule(a, a, { type: 'a100' }, 100, 'y');
    timers.schedule(b, b, { type: 'b200' }, 200, 'y');
    vi.advanceTimersByTime(100);
    expect(got).toEqual(['b100', 'a100']);
    vi.advanceTimersByTime(1000);
    expect(got).toEqual(['b100', 'a100', 'b200', 'a300']);
    expect(timers.pending(a) + timers.pending(b)).toBe(0);
  });

  it('cancels one by ID, all of a source, and replaces a pending ID', () => {
    const got: string[] = [];
    const timers = new ActorTimers((_, __, event) => got.push(event.type));
    const [a, b] = [source('a'), source('b')];
    for (let i = 0; i < 20; i++) timers.schedule(a, a, { type: `a${i}` }, 10 * (20 - i), `t${i}`);
    timers.schedule(b, b, { type: 'b' }, 50, 'x');
    timers.schedule(b, b, { type: 'b-again' }, 60, 'x');
    timers.cancel(a, 't19'); // the earliest
    timers.cancel(a, 't3');
    expect(timers.pending(a)).toBe(18);
    vi.advanceTimersByTime(25);
    expect(got).toEqual(['a18']);
    timers.cancelAll(a);
    vi.advanceTimersByTime(1000);
    expect(got).toEqual(['a18', 'b-again']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('takes timers scheduled by a delivery', () => {
    const got: string[] = [];
    const a = source('a');
    const timers: ActorTimers = new ActorTimers((_, __, event) => {
      got.push(event.type);
      if (event.type === 'first') timers.schedule(a, a, { type: 'then' }, 0, 'y');
    });
    timers.schedule(a, a, { type: 'first' }, 10, 'x');
    vi.advanceTimersByTime(10);
    expect(got).toEqual(['first', 'then']);
  });
});

describe('OneOrMore', () => {
  it('is a Set for add, delete, size and iteration', () => {
    const set = new OneOrMore<string>();
    set.add('a').add('a');
    expect([...set]).toEqual(['a']);
    set.add('b');
    expect(set.size).toBe(2);
    expect(set.delete('a')).toBe(true);
    expect([...set]).toEqual(['b']);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.delete('b')).toBe(false);
  });
});
