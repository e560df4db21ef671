import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { SharedActorSystem } from '../../src/core/actor-system.ts';

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
    // The timer really is gone from the scheduler: nothing is left to fire.
    expect(Object.keys(system.root.system.getSnapshot()._scheduledEvents)).toEqual([]);
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
