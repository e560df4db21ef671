/**
 * machines/pool.machine.ts: who gets in, who waits, who is shed, and drain. Pure
 * `initialTransition` / `transition` for decisions (state + which effects would run),
 * then an actor with spied effects for a whole admission-and-drain sequence.
 */
import { describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import { type AdmissionDecision, type PoolEvent, poolMachine } from '../../machines/pool.machine.ts';

type Snapshot = ReturnType<typeof initialTransition<typeof poolMachine>>[0];

const request = (connectionId: string, priority = 3): PoolEvent => ({
  type: 'admission.requested',
  connectionId,
  priority,
});
const released = (connectionId: string): PoolEvent => ({ type: 'connection.released', connectionId });

type Action = { type: string; params?: unknown };

/** Effects a step would run — decisions it emits by their event type — minus XState's own bookkeeping. */
function effects(actions: readonly Action[]): string[] {
  return actions
    .map((a) => (a.type === 'xstate.emit' ? (a.params as { event: { type: string } }).event.type : a.type))
    .filter((t) => !t.startsWith('xstate.'));
}

/** The decision a step emitted, as the supervisor would receive it. */
function decision(actions: readonly Action[]): unknown {
  return (actions.find((a) => a.type === 'xstate.emit')?.params as { event: unknown } | undefined)?.event;
}

function step(snapshot: Snapshot, event: PoolEvent) {
  const [next, actions] = transition(poolMachine, snapshot, event);
  return { next, effects: effects(actions), actions };
}

/** ADMISSION_QUEUE_MAX's default. */
const MAX_WAITING = 1000;

function poolAfter(maxConnections: number, ...events: PoolEvent[]): Snapshot {
  return poolWith({ maxConnections, maxWaiting: MAX_WAITING }, ...events);
}

function poolWith(input: { maxConnections: number; maxWaiting: number }, ...events: PoolEvent[]): Snapshot {
  let [snapshot] = initialTransition(poolMachine, input);
  for (const event of events) [snapshot] = transition(poolMachine, snapshot, event);
  return snapshot;
}

describe('pool machine — pure transitions', () => {
  it('starts accepting, empty, with no effect', () => {
    const [snapshot, actions] = initialTransition(poolMachine, {
      maxConnections: 2,
      maxWaiting: MAX_WAITING,
    });
    expect(snapshot.value).toBe('accepting');
    expect(snapshot.context).toMatchObject({ active: 0, waiting: 0, pressure: 'normal', admitted: 0 });
    expect(effects(actions)).toEqual([]);
  });

  it('grants admission at once while there is room', () => {
    const { next, effects: ran, actions } = step(poolAfter(2), request('c1'));
    expect(next.value).toBe('accepting');
    expect(next.context).toMatchObject({ active: 1, admitted: 1 });
    expect(ran).toEqual(['admission.granted']);
    expect(decision(actions)).toEqual({ type: 'admission.granted', connectionId: 'c1' });
  });

  it('becomes saturated when the last slot is taken', () => {
    const { next, effects: ran } = step(poolAfter(2, request('c1')), request('c2'));
    expect(ran).toEqual(['admission.granted']);
    expect(next.value).toBe('saturated');
    expect(next.context.active).toBe(2);
  });

  it('while full, queues newcomers with their priority instead of admitting them', () => {
    const { next, effects: ran, actions } = step(poolAfter(1, request('c1')), request('c2', 1));
    expect(next.value).toBe('saturated');
    expect(ran).toEqual(['enqueue', 'admission.queued']);
    expect(actions.find((a) => a.type === 'enqueue')?.params).toEqual({ connectionId: 'c2', priority: 1 });
    expect(decision(actions)).toEqual({ type: 'admission.queued', connectionId: 'c2', priority: 1 });
    expect(next.context).toMatchObject({ active: 1, waiting: 1, queued: 1, admitted: 1 });
  });

  it('with maxWaiting already in line, refuses the newcomer at once with SERVER_BUSY and counts it', () => {
    const full = poolWith({ maxConnections: 1, maxWaiting: 2 }, request('c1'), request('c2'), request('c3'));
    expect(full.context).toMatchObject({ active: 1, waiting: 2 });
    const { next, effects: ran, actions } = step(full, request('c4', 1));
    expect(ran).toEqual(['admission.refused']);
    expect(decision(actions)).toEqual({ type: 'admission.refused', connectionId: 'c4', code: 'SERVER_BUSY' });
    expect(next.value).toBe('saturated');
    expect(next.context).toMatchObject({ waiting: 2, queued: 2, refused: 1 });
  });

  it('with maxWaiting 0 there is no queue: whoever cannot get in at once is refused', () => {
    const full = poolWith({ maxConnections: 1, maxWaiting: 0 }, request('c1'));
    const { next, effects: ran } = step(full, request('c2'));
    expect(ran).toEqual(['admission.refused']);
    expect(next.context).toMatchObject({ active: 1, waiting: 0, refused: 1 });
    // Under pressure with room, too: nobody may wait, so nobody is queued.
    const pressed = poolWith(
      { maxConnections: 5, maxWaiting: 0 },
      { type: 'resources.sampled', pressure: 'high' },
    );
    expect(step(pressed, request('c3')).effects).toEqual(['admission.refused']);
  });

  it('a release while others wait pulls from the queue and stays saturated until they are in', () => {
    const full = poolAfter(1, request('c1'), request('c2'));
    const { next, effects: ran } = step(full, released('c1'));
    expect(ran).toContain('admitFromQueue');
    expect(next.value).toBe('saturated'); // waiters first: a newcomer must not overtake them
    expect(next.context.active).toBe(0);
    const dequeued = step(next, { type: 'admission.dequeued', connectionId: 'c2' });
    expect(decision(dequeued.actions)).toEqual({ type: 'admission.granted', connectionId: 'c2' });
    const admitted = dequeued.next;
    expect(admitted.context).toMatchObject({ active: 1, waiting: 0, admitted: 2 });
    expect(admitted.value).toBe('saturated');
  });

  it('goes back to accepting when a slot frees and nobody waits', () => {
    const { next } = step(poolAfter(1, request('c1')), released('c1'));
    expect(next.value).toBe('accepting');
    expect(next.context.active).toBe(0);
  });

  it('a waiter that leaves the queue gives its place back', () => {
    const waiting = poolAfter(1, request('c1'), request('c2'), released('c1'));
    const { next } = step(waiting, { type: 'admission.abandoned', connectionId: 'c2' });
    expect(next.context.waiting).toBe(0);
    expect(next.value).toBe('accepting');
  });

  it('never counts below zero', () => {
    const { next } = step(poolAfter(2), released('ghost'));
    expect(next.context.active).toBe(0);
  });

  it('high pressure stops direct admission even with room', () => {
    const pressured = step(poolAfter(10), { type: 'resources.sampled', pressure: 'high' }).next;
    expect(pressured.value).toBe('saturated');
    expect(step(pressured, request('c1')).effects).toEqual(['enqueue', 'admission.queued']);
  });

  it('critical pressure sheds load, again on every critical sample, and recovers when it passes', () => {
    const busy = poolAfter(10, request('c1'), request('c2'));
    const critical = step(busy, { type: 'resources.sampled', pressure: 'critical' });
    expect(critical.next.value).toBe('shedding');
    expect(critical.effects).toContain('shedLoad');

    const again = step(critical.next, { type: 'resources.sampled', pressure: 'critical' });
    expect(again.next.value).toBe('shedding');
    expect(again.effects).toEqual(['shedLoad']);
    const queued = step(again.next, request('c3'));
    expect(queued.effects).toEqual(['enqueue', 'admission.queued']);

    const calm = step(queued.next, { type: 'resources.sampled', pressure: 'normal' });
    expect(calm.effects).toContain('admitFromQueue');
    expect(calm.next.value).toBe('saturated'); // c3 is still waiting
  });

  it.each([
    ['accepting', poolAfter(2)],
    ['saturated', poolAfter(1, request('c1'))],
    ['shedding', poolAfter(2, { type: 'resources.sampled', pressure: 'critical' })],
  ])('pool.drain from %s → draining, which starts closing connections', (from, snapshot) => {
    expect(snapshot.value).toBe(from);
    const { next, effects: ran } = step(snapshot, { type: 'pool.drain' });
    expect(next.value).toBe('draining');
    expect(ran).toEqual(['drainConnections']);
  });

  it('draining refuses newcomers with SERVICE_RESTART, then pool.drained → stopped', () => {
    const draining = poolAfter(2, { type: 'pool.drain' });
    const { next, effects: ran, actions } = step(draining, request('late'));
    expect(ran).toEqual(['admission.refused']);
    expect(decision(actions)).toEqual({
      type: 'admission.refused',
      connectionId: 'late',
      code: 'SERVICE_RESTART',
    });
    expect(next.context.refused).toBe(1);
    expect(next.context.waiting).toBe(0);

    const stopped = step(next, { type: 'pool.drained' }).next;
    expect(stopped.value).toBe('stopped');
    expect(stopped.status).toBe('done');
  });

  it('Redis found gone dismisses the line with STORE_UNAVAILABLE; with nobody waiting, or draining, it does nothing', () => {
    const gone: PoolEvent = { type: 'store.unavailable' };
    for (const pool of [
      poolAfter(1, request('a'), request('b')),
      poolAfter(1, request('a'), request('b'), { type: 'resources.sampled', pressure: 'critical' }),
    ]) {
      const { next, actions } = step(pool, gone);
      expect(next.value).toBe(pool.value);
      expect(actions.find((a) => a.type === 'dismissWaiters')?.params).toEqual({ code: 'STORE_UNAVAILABLE' });
      expect(next.context.waiting).toBe(1); // each waiter's close gives its place back (admission.abandoned)
    }
    expect(step(poolAfter(2, request('a')), gone).effects).toEqual([]);
    const draining = poolAfter(1, request('a'), request('b'), { type: 'pool.drain' });
    expect(step(draining, gone).effects).toEqual([]); // the drain tells them SERVICE_RESTART
  });

  it('pool.drained means nothing before a drain', () => {
    const { next, effects: ran } = step(poolAfter(2), { type: 'pool.drained' });
    expect(next.value).toBe('accepting');
    expect(ran).toEqual([]);
  });

  it('types: an unknown event type, or a request without priority, does not compile', () => {
    const snapshot = poolAfter(1);
    // @ts-expect-error — 'pool.explode' is not a PoolEvent
    expect(transition(poolMachine, snapshot, { type: 'pool.explode' })[0].value).toBe('accepting');
    // @ts-expect-error — admission.requested needs a priority
    transition(poolMachine, snapshot, { type: 'admission.requested', connectionId: 'c1' });
  });
});

describe('pool machine — actor with provided effects', () => {
  it('admits, queues, pulls from the queue on release, drains and stops', () => {
    const spies = {
      enqueue: vi.fn(),
      admitFromQueue: vi.fn(),
      shedLoad: vi.fn(),
      drainConnections: vi.fn(),
    };
    const pool = createActor(poolMachine.provide({ actions: spies }), {
      input: { maxConnections: 2, maxWaiting: MAX_WAITING },
    });
    const decisions: AdmissionDecision[] = [];
    pool.on('*', (emitted) => decisions.push(emitted));
    pool.start();

    pool.send(request('c1'));
    pool.send(request('c2'));
    pool.send(request('c3', 1));
    expect(decisions).toEqual([
      { type: 'admission.granted', connectionId: 'c1' },
      { type: 'admission.granted', connectionId: 'c2' },
      { type: 'admission.queued', connectionId: 'c3', priority: 1 },
    ]);
    expect(spies.enqueue).toHaveBeenCalledWith(expect.anything(), { connectionId: 'c3', priority: 1 });
    expect(pool.getSnapshot().value).toBe('saturated');

    pool.send(released('c1'));
    expect(spies.admitFromQueue).toHaveBeenCalledOnce();
    pool.send({ type: 'admission.dequeued', connectionId: 'c3' });
    expect(decisions.at(-1)).toEqual({ type: 'admission.granted', connectionId: 'c3' });
    expect(pool.getSnapshot().context).toMatchObject({ active: 2, waiting: 0, admitted: 3 });

    pool.send({ type: 'pool.drain' });
    expect(spies.drainConnections).toHaveBeenCalledOnce();
    pool.send(request('c4'));
    expect(decisions.at(-1)).toEqual({
      type: 'admission.refused',
      connectionId: 'c4',
      code: 'SERVICE_RESTART',
    });
    pool.send({ type: 'pool.drained' });
    expect(pool.getSnapshot().status).toBe('done');
    expect(spies.shedLoad).not.toHaveBeenCalled();
  });
});
