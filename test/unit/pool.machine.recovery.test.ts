/**
 * machines/pool.machine.ts, what an operator would notice after pressure: the pool goes
 * back to admitting at once when pressure falls, counts its queue down as waiters leave,
 * and sheds from any state. (Survivors of `npm run mutation`: a pool stuck in
 * `saturated` once pressure fell, or whose queue count dropped to zero when one of
 * several waiters left, passed every other unit test.)
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { type PoolEvent, type Pressure, poolMachine } from '../../machines/pool.machine.ts';

type Snapshot = ReturnType<typeof initialTransition<typeof poolMachine>>[0];

const request = (connectionId: string): PoolEvent => ({
  type: 'admission.requested',
  connectionId,
  priority: 3,
});
const sampled = (pressure: Pressure): PoolEvent => ({ type: 'resources.sampled', pressure });

function run(input: { maxConnections: number; maxWaiting: number }, ...events: PoolEvent[]) {
  let [snapshot, actions] = initialTransition(poolMachine, input);
  for (const event of events) [snapshot, actions] = transition(poolMachine, snapshot, event);
  // Decisions are the pool's output (emitted events): named by their event type here.
  const effects = (actions as readonly { type: string; params?: unknown }[])
    .map((a) => (a.type === 'xstate.emit' ? (a.params as { event: { type: string } }).event.type : a.type))
    .filter((t) => !t.startsWith('xstate.'));
  return { snapshot: snapshot as Snapshot, effects };
}

describe('pool machine — recovering from pressure', () => {
  it('high pressure, then normal again with room and nobody waiting: the next newcomer is admitted at once', () => {
    const calm = run({ maxConnections: 5, maxWaiting: 10 }, sampled('high'), sampled('normal'));
    expect(calm.snapshot.value).toBe('accepting');
    expect(calm.snapshot.context.pressure).toBe('normal');
    const next = run(
      { maxConnections: 5, maxWaiting: 10 },
      sampled('high'),
      sampled('normal'),
      request('c1'),
    );
    expect(next.effects).toEqual(['admission.granted']);
    expect(next.snapshot.context).toMatchObject({ active: 1, admitted: 1, queued: 0 });
  });

  it('critical, then normal with nobody waiting: back to admitting at once, not stuck saturated', () => {
    const calm = run({ maxConnections: 5, maxWaiting: 10 }, sampled('critical'), sampled('normal'));
    expect(calm.snapshot.value).toBe('accepting');
    expect(
      run({ maxConnections: 5, maxWaiting: 10 }, sampled('critical'), sampled('normal'), request('c1'))
        .effects,
    ).toEqual(['admission.granted']);
  });

  it('critical, then high: still no direct admission (saturated), and normal after that admits again', () => {
    const high = run({ maxConnections: 5, maxWaiting: 10 }, sampled('critical'), sampled('high'));
    expect(high.snapshot.value).toBe('saturated');
    expect(high.snapshot.context.pressure).toBe('high');
    expect(
      run({ maxConnections: 5, maxWaiting: 10 }, sampled('critical'), sampled('high'), request('c1')).effects,
    ).toEqual(['enqueue', 'admission.queued']);
  });

  it('a full pool that turns critical sheds load', () => {
    const full = run({ maxConnections: 1, maxWaiting: 10 }, request('c1'));
    expect(full.snapshot.value).toBe('saturated');
    const critical = run({ maxConnections: 1, maxWaiting: 10 }, request('c1'), sampled('critical'));
    expect(critical.snapshot.value).toBe('shedding');
    expect(critical.effects).toContain('shedLoad');
  });

  it('a release while accepting frees the slot: two slots, one taken and released, then two admitted at once', () => {
    const input = { maxConnections: 2, maxWaiting: 10 };
    const events: PoolEvent[] = [
      request('c1'),
      { type: 'connection.released', connectionId: 'c1' },
      request('c2'),
    ];
    expect(run(input, ...events).snapshot.value).toBe('accepting');
    const third = run(input, ...events, request('c3'));
    expect(third.effects).toEqual(['admission.granted']);
    expect(third.snapshot.context).toMatchObject({ active: 2, admitted: 3, queued: 0 });
  });

  it('pressure falling while someone waits pulls the waiter in (there is room)', () => {
    const waiting: PoolEvent[] = [sampled('high'), request('c1')];
    expect(run({ maxConnections: 5, maxWaiting: 10 }, ...waiting).snapshot.context.waiting).toBe(1);
    const calm = run({ maxConnections: 5, maxWaiting: 10 }, ...waiting, sampled('normal'));
    expect(calm.effects).toEqual(['admitFromQueue']);
    expect(calm.snapshot.value).toBe('saturated'); // until the waiter is in
  });
});

describe('pool machine — the queue count as waiters leave', () => {
  // One slot, room for two in line: c1 in, c2 and c3 wait.
  const input = { maxConnections: 1, maxWaiting: 2 };
  const twoWaiting: PoolEvent[] = [request('c1'), request('c2'), request('c3')];

  it('one of two waiters gives up: one still waits, so a newcomer queues and the next is refused', () => {
    const left = run(input, ...twoWaiting, { type: 'admission.abandoned', connectionId: 'c2' });
    expect(left.snapshot.context.waiting).toBe(1);
    expect(
      run(input, ...twoWaiting, { type: 'admission.abandoned', connectionId: 'c2' }, request('c4')).effects,
    ).toEqual(['enqueue', 'admission.queued']);
    const full = run(
      input,
      ...twoWaiting,
      { type: 'admission.abandoned', connectionId: 'c2' },
      request('c4'),
      request('c5'),
    );
    expect(full.effects).toEqual(['admission.refused']);
  });

  it('one of two waiters is let in: one still waits, and the pool stays saturated for it', () => {
    const events: PoolEvent[] = [
      ...twoWaiting,
      { type: 'connection.released', connectionId: 'c1' },
      { type: 'admission.dequeued', connectionId: 'c2' },
    ];
    const after = run(input, ...events);
    expect(after.snapshot.context).toMatchObject({ active: 1, waiting: 1 });
    expect(after.snapshot.value).toBe('saturated');
  });
});
