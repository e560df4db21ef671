/**
 * machines/connection.machine.ts at two depths: pure `initialTransition` /
 * `transition` (which state, which actions would run — none are executed), and
 * behaviour with `createActor` + fake timers for the handshake and resume windows.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import {
  type ConnectionEvent,
  type ConnectionInput,
  connectionMachine,
} from '../../machines/connection.machine.ts';

const input: ConnectionInput = {
  connectionId: 'conn-1',
  correlationId: 'corr-1',
  handshakeTimeoutMs: 10_000,
  resumeWindowMs: 120_000,
  admissionTimeoutMs: 30_000,
};

const accepted: ConnectionEvent = {
  type: 'hello.accepted',
  sessionId: 's-1',
  userId: 'u-1',
  resumed: false,
  correlationId: 'corr-session',
};

/** Action types a step would run, minus XState's own timer bookkeeping. */
function effects(actions: readonly { type: string }[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));
}

function paramsOf(actions: readonly { type: string; params?: unknown }[], type: string): unknown {
  return actions.find((a) => a.type === type)?.params;
}

/** Walk the pure machine through `events` from its initial state. */
function stateAfter(...events: ConnectionEvent[]) {
  let [snapshot] = initialTransition(connectionMachine, input);
  for (const event of events) [snapshot] = transition(connectionMachine, snapshot, event);
  return snapshot;
}

describe('connection machine — pure transitions', () => {
  it('starts in connecting, arms the handshake timer and runs no effect', () => {
    const [snapshot, actions] = initialTransition(connectionMachine, input);
    expect(snapshot.value).toEqual({ connecting: 'handshaking' });
    expect(snapshot.context.reconnections).toBe(0);
    expect(effects(actions)).toEqual([]);
    expect(actions.map((a) => a.type)).toContain('xstate.raise'); // the delayed handshakeTimeout
  });

  it('hello.accepted → connected, records the session and marks it live', () => {
    const [start] = initialTransition(connectionMachine, input);
    const [next, actions] = transition(connectionMachine, start, accepted);
    expect(next.value).toBe('connected');
    expect(next.context).toMatchObject({ sessionId: 's-1', userId: 'u-1', correlationId: 'corr-session' });
    expect(effects(actions)).toEqual(['markSessionLive']);
    expect(actions.map((a) => a.type)).toContain('xstate.cancel'); // handshake timer cancelled
  });

  it('hello.rejected → failed with the code, and closes the transport with it', () => {
    const [start] = initialTransition(connectionMachine, input);
    const [next, actions] = transition(connectionMachine, start, {
      type: 'hello.rejected',
      code: 'AUTH_INVALID_TOKEN',
    });
    expect(next.value).toBe('failed');
    expect(next.status).toBe('done');
    expect(next.context.failure).toBe('AUTH_INVALID_TOKEN');
    expect(effects(actions)).toEqual(['closeTransport']);
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'AUTH_INVALID_TOKEN' });
  });

  it('a socket that leaves before hello → closed, with nothing to clean up', () => {
    for (const event of [
      { type: 'transport.lost', closeCode: 1006 },
      { type: 'transport.ended', reason: 'client said bye' },
    ] satisfies ConnectionEvent[]) {
      const [start] = initialTransition(connectionMachine, input);
      const [next, actions] = transition(connectionMachine, start, event);
      expect(next.value).toBe('closed');
      expect(next.context.closeReason).toBe('left before hello');
      expect(effects(actions)).toEqual([]);
    }
  });

  it('policy.violated while connecting → failed and closes with that code', () => {
    const [start] = initialTransition(connectionMachine, input);
    const [next, actions] = transition(connectionMachine, start, {
      type: 'policy.violated',
      code: 'HELLO_REQUIRED',
    });
    expect(next.value).toBe('failed');
    expect(next.context.failure).toBe('HELLO_REQUIRED');
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'HELLO_REQUIRED' });
  });

  it('connected + transport.lost → reconnecting: resumable, resume timer armed, session kept', () => {
    const connected = stateAfter(accepted);
    const [next, actions] = transition(connectionMachine, connected, {
      type: 'transport.lost',
      closeCode: 1006,
    });
    expect(next.value).toBe('reconnecting');
    expect(next.context.lastCloseCode).toBe(1006);
    expect(effects(actions)).toEqual(['markSessionResumable']);
    expect(actions.map((a) => a.type)).toContain('xstate.raise'); // the delayed resumeWindow
  });

  it('connected + policy.violated → reconnecting (the registry says: reconnect to resume)', () => {
    const connected = stateAfter(accepted);
    const [next, actions] = transition(connectionMachine, connected, {
      type: 'policy.violated',
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(next.value).toBe('reconnecting');
    expect(effects(actions)).toEqual(['markSessionResumable']);
  });

  it('connected + transport.ended (bye) → closed and deletes the session', () => {
    const connected = stateAfter(accepted);
    const [next, actions] = transition(connectionMachine, connected, {
      type: 'transport.ended',
      reason: 'client said bye',
    });
    expect(next.value).toBe('closed');
    expect(next.context.closeReason).toBe('client said bye');
    expect(effects(actions)).toEqual(['deleteSession']);
  });

  it('session.taken → closed without deleting the session another process now owns', () => {
    for (const from of [
      stateAfter(accepted),
      stateAfter(accepted, { type: 'transport.lost', closeCode: 1006 }),
    ]) {
      const [next, actions] = transition(connectionMachine, from, { type: 'session.taken' });
      expect(next.value).toBe('closed');
      expect(effects(actions)).toEqual([]);
    }
  });

  it('reconnecting + transport.attached → connected on the new transport, counted', () => {
    const reconnecting = stateAfter(accepted, { type: 'transport.lost', closeCode: 1001 });
    const [next, actions] = transition(connectionMachine, reconnecting, {
      type: 'transport.attached',
      connectionId: 'conn-2',
      correlationId: 'corr-session',
    });
    expect(next.value).toBe('connected');
    expect(next.context).toMatchObject({
      connectionId: 'conn-2',
      reconnections: 1,
      sessionId: 's-1',
      correlationId: 'corr-session',
    });
    expect(effects(actions)).toEqual(['markSessionLive']);
    expect(actions.map((a) => a.type)).toContain('xstate.cancel'); // resume timer cancelled
  });

  it('ignores events that do not apply: no state change, no effect', () => {
    const connecting = stateAfter();
    const [same, actions] = transition(connectionMachine, connecting, {
      type: 'transport.attached',
      connectionId: 'x',
      correlationId: 'corr-x',
    });
    expect(same.matches('connecting')).toBe(true);
    expect(effects(actions)).toEqual([]);

    const connected = stateAfter(accepted);
    const [still, none] = transition(connectionMachine, connected, accepted);
    expect(still.value).toBe('connected');
    expect(effects(none)).toEqual([]);
  });

  it('admission.queued → connecting.queued: the handshake timer gives way to the admission timer', () => {
    const [start] = initialTransition(connectionMachine, input);
    const [queued, actions] = transition(connectionMachine, start, { type: 'admission.queued', position: 3 });
    expect(queued.value).toEqual({ connecting: 'queued' });
    expect(effects(actions)).toEqual([]);
    const [back] = transition(connectionMachine, queued, { type: 'admission.granted' });
    expect(back.value).toEqual({ connecting: 'handshaking' });
    const [gone] = transition(connectionMachine, queued, { type: 'transport.lost', closeCode: 1001 });
    expect(gone.value).toBe('closed');
  });

  it('final states accept nothing', () => {
    const failed = stateAfter({ type: 'hello.rejected', code: 'AUTH_INVALID_TOKEN' });
    const [next, actions] = transition(connectionMachine, failed, accepted);
    expect(next.value).toBe('failed');
    expect(actions).toEqual([]);
  });

  it('types: an unknown event type does not compile', () => {
    const [start] = initialTransition(connectionMachine, input);
    // @ts-expect-error — 'socket.exploded' is not a ConnectionEvent
    const [next] = transition(connectionMachine, start, { type: 'socket.exploded' });
    expect(next.matches('connecting')).toBe(true);
    // @ts-expect-error — hello.accepted requires sessionId, userId, resumed and correlationId
    transition(connectionMachine, start, { type: 'hello.accepted' });
  });
});

describe('connection machine — actor with fake timers', () => {
  const spies = () => ({
    closeTransport: vi.fn(),
    markSessionLive: vi.fn(),
    markSessionResumable: vi.fn(),
    deleteSession: vi.fn(),
  });
  let actions: ReturnType<typeof spies>;

  function start(overrides: Partial<typeof input> = {}) {
    const actor = createActor(connectionMachine.provide({ actions }), { input: { ...input, ...overrides } });
    actor.start();
    return actor;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    actions = spies();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('no hello within handshakeTimeout → failed HANDSHAKE_TIMEOUT, transport closed with that code', () => {
    const actor = start();
    vi.advanceTimersByTime(input.handshakeTimeoutMs - 1);
    expect(actor.getSnapshot().matches('connecting')).toBe(true);
    expect(actions.closeTransport).not.toHaveBeenCalled();

    vi.advanceTimersByTime(1);
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('failed');
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.failure).toBe('HANDSHAKE_TIMEOUT');
    expect(actions.closeTransport).toHaveBeenCalledOnce();
    expect(actions.closeTransport).toHaveBeenCalledWith(expect.anything(), { code: 'HANDSHAKE_TIMEOUT' });
    expect(actions.deleteSession).not.toHaveBeenCalled();
  });

  it('a hello in time disarms the handshake timer', () => {
    const actor = start();
    vi.advanceTimersByTime(input.handshakeTimeoutMs / 2);
    actor.send(accepted);
    vi.advanceTimersByTime(input.handshakeTimeoutMs * 10);
    expect(actor.getSnapshot().value).toBe('connected');
    expect(actions.closeTransport).not.toHaveBeenCalled();
    expect(actions.markSessionLive).toHaveBeenCalledOnce();
  });

  it('reconnecting past the resume window → failed RESUME_EXPIRED and the session is deleted', () => {
    const actor = start();
    actor.send(accepted);
    actor.send({ type: 'transport.lost', closeCode: 1006 });
    expect(actor.getSnapshot().value).toBe('reconnecting');
    expect(actions.markSessionResumable).toHaveBeenCalledOnce();

    vi.advanceTimersByTime(input.resumeWindowMs - 1);
    expect(actor.getSnapshot().value).toBe('reconnecting');
    expect(actions.deleteSession).not.toHaveBeenCalled();

    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure).toBe('RESUME_EXPIRED');
    expect(actions.deleteSession).toHaveBeenCalledOnce();
    expect(actions.closeTransport).not.toHaveBeenCalled(); // there is no transport left to close
  });

  it('a transport attached within the window → connected, reconnections 1, the timer is gone', () => {
    const actor = start();
    actor.send(accepted);
    actor.send({ type: 'transport.lost', closeCode: 1006 });
    vi.advanceTimersByTime(input.resumeWindowMs - 1);
    actor.send({ type: 'transport.attached', connectionId: 'conn-2', correlationId: 'corr-session' });

    expect(actor.getSnapshot().value).toBe('connected');
    expect(actor.getSnapshot().context.reconnections).toBe(1);
    expect(actor.getSnapshot().context.connectionId).toBe('conn-2');
    expect(actions.markSessionLive).toHaveBeenCalledTimes(2);

    vi.advanceTimersByTime(input.resumeWindowMs * 2);
    expect(actor.getSnapshot().value).toBe('connected');
    expect(actions.deleteSession).not.toHaveBeenCalled();
  });

  it('each drop gets a fresh window', () => {
    const actor = start();
    actor.send(accepted);
    for (let i = 1; i <= 3; i++) {
      actor.send({ type: 'transport.lost', closeCode: 1006 });
      vi.advanceTimersByTime(input.resumeWindowMs - 1);
      actor.send({
        type: 'transport.attached',
        connectionId: `conn-${i + 1}`,
        correlationId: 'corr-session',
      });
    }
    expect(actor.getSnapshot().context.reconnections).toBe(3);
    expect(actor.getSnapshot().value).toBe('connected');
  });

  it('bye → closed and the session is deleted', () => {
    const actor = start();
    actor.send(accepted);
    actor.send({ type: 'transport.ended', reason: 'client said bye' });
    expect(actor.getSnapshot().value).toBe('closed');
    expect(actor.getSnapshot().status).toBe('done');
    expect(actions.deleteSession).toHaveBeenCalledOnce();
    expect(actions.closeTransport).not.toHaveBeenCalled();
  });

  it('queued past admissionTimeout → failed ADMISSION_TIMEOUT, transport closed with that code', () => {
    const actor = start();
    actor.send({ type: 'admission.queued', position: 1 });
    vi.advanceTimersByTime(input.handshakeTimeoutMs * 2); // the handshake timer no longer runs
    expect(actor.getSnapshot().value).toEqual({ connecting: 'queued' });
    vi.advanceTimersByTime(input.admissionTimeoutMs - input.handshakeTimeoutMs * 2);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure).toBe('ADMISSION_TIMEOUT');
    expect(actions.closeTransport).toHaveBeenCalledWith(expect.anything(), { code: 'ADMISSION_TIMEOUT' });
  });

  it('granted admission re-arms a full handshake timeout', () => {
    const actor = start();
    actor.send({ type: 'admission.queued', position: 1 });
    vi.advanceTimersByTime(input.admissionTimeoutMs - 1);
    actor.send({ type: 'admission.granted' });
    vi.advanceTimersByTime(input.handshakeTimeoutMs - 1);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'handshaking' });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().context.failure).toBe('HANDSHAKE_TIMEOUT');
  });

  it('the delays come from input', () => {
    const actor = start({ handshakeTimeoutMs: 250 });
    vi.advanceTimersByTime(250);
    expect(actor.getSnapshot().context.failure).toBe('HANDSHAKE_TIMEOUT');
  });
});
