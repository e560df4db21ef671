/**
 * machines/connection.machine.ts at two depths: pure `initialTransition` /
 * `transition` (which state, which effects would run — none are executed), and
 * behaviour with `createActor`, provided steps and fake timers for the handshake,
 * admission, token and resume windows.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import {
  type Attached,
  type Authenticated,
  type ConnectionEvent,
  type ConnectionInput,
  type ConnectionSettings,
  connectionMachine,
  DEFAULT_SETTINGS,
  EXPIRY_CHECK_LATE_MS,
  withSettings,
} from '../../machines/connection.machine.ts';
import { HANDSHAKE_STATES, handshakeState } from '../../src/core/connection-actor.ts';

const input: ConnectionInput = { connectionId: 'conn-1', correlationId: 'corr-1' };
const settings: ConnectionSettings = {
  handshakeTimeoutMs: 10_000,
  resumeWindowMs: 120_000,
  admissionTimeoutMs: 30_000,
  maxErrorsPerMinute: 3,
};
/** The pure machine with these settings, as the runtime provides its own. */
const machine = connectionMachine.provide(withSettings(settings));

type Snapshot = ReturnType<typeof initialTransition<typeof machine>>[0];
type Action = { type: string; params?: unknown };
type AnyEvent = ConnectionEvent | { type: string; output?: unknown; error?: unknown };

const authenticated: Authenticated = { userId: 'u-1', tier: 'gold', priority: 1, tokenExpiresAt: undefined };
const attached: Attached = {
  sessionId: 's-1',
  userId: 'u-1',
  correlationId: 'corr-s',
  handedOver: false,
  resumed: false,
};
const authDone = (output = authenticated): ConnectionEvent => ({ type: 'authenticate.done', output });
const attachDone = (output = attached): ConnectionEvent => ({ type: 'attach.done', output });
const closed = (reason?: string, connectionId = 'conn-1'): ConnectionEvent => ({
  type: 'transport.closed',
  connectionId,
  closeCode: reason ? 4000 : 1006,
  reason,
});

/** Effect types a step would run (assigns are already applied), minus XState's own timer and invoke bookkeeping. */
function effects(actions: readonly Action[]): string[] {
  return actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));
}

function paramsOf(actions: readonly Action[], type: string): unknown {
  return actions.find((a) => a.type === type)?.params;
}

function step(snapshot: Snapshot, event: AnyEvent) {
  const [next, actions] = transition(machine, snapshot, event as ConnectionEvent);
  return { next, actions, ran: effects(actions) };
}

/** Walk the pure machine through `events` from its initial state. */
function stateAfter(...events: AnyEvent[]): Snapshot {
  let [snapshot] = initialTransition(machine, input);
  for (const event of events) snapshot = step(snapshot, event).next;
  return snapshot;
}

const HELLO: AnyEvent = { type: 'hello.received' };
const GRANTED: AnyEvent = { type: 'admission.granted' };
const connectedPath = [HELLO, authDone(), GRANTED, attachDone()];

describe('connection machine — the handshake', () => {
  it('starts waiting for hello, arms the handshake timer and runs no effect', () => {
    const [snapshot, actions] = initialTransition(machine, input);
    expect(snapshot.value).toEqual({ connecting: { handshake: 'awaitingHello' } });
    expect(snapshot.context).toMatchObject({ reconnections: 0, errors: 0 });
    expect(effects(actions)).toEqual([]);
    expect(actions.map((a) => a.type)).toContain('xstate.raise'); // the delayed handshakeTimeout
  });

  it('hello → authenticating: the authenticate step runs (an action, not a child actor)', () => {
    const { next, actions, ran } = step(stateAfter(), HELLO);
    expect(next.value).toEqual({ connecting: { handshake: 'authenticating' } });
    expect(ran).toEqual(['authenticate']);
    expect(actions.map((a) => a.type)).not.toContain('xstate.spawnChild');
  });

  it('authenticated → admitting: who the client is is recorded, and the pool is asked', () => {
    const { next, ran } = step(stateAfter(HELLO), authDone({ ...authenticated, tokenExpiresAt: 5 }));
    expect(next.value).toEqual({ connecting: { handshake: 'admitting' } });
    expect(next.context).toMatchObject({ userId: 'u-1', tier: 'gold', priority: 1, tokenExpiresAt: 5 });
    expect(ran).toEqual(['requestAdmission']);
  });

  it('a refused token → failed with its code, the transport closed with it and its hints', () => {
    const error = { code: 'AUTH_INVALID_TOKEN', detail: 'bad signature', retryAfterMs: 7 };
    const { next, ran, actions } = step(stateAfter(HELLO), {
      type: 'authenticate.failed',
      error,
    });
    expect(next.value).toBe('failed');
    expect(next.status).toBe('done');
    expect(next.context.failure).toBe('AUTH_INVALID_TOKEN');
    expect(ran).toEqual(['closeTransport']);
    expect(paramsOf(actions, 'closeTransport')).toEqual(error);
  });

  it('a step that fails with something uncoded closes with INTERNAL', () => {
    const { next, actions } = step(stateAfter(HELLO), {
      type: 'authenticate.failed',
      error: new Error('boom'),
    });
    expect(next.context.failure).toBe('INTERNAL');
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'INTERNAL' });
  });

  it('granted at once → attaching, still within the one handshake budget (its timer is not re-armed)', () => {
    const { next, actions, ran } = step(stateAfter(HELLO, authDone()), GRANTED);
    expect(next.value).toEqual({ connecting: { handshake: 'attaching' } });
    expect(ran).toEqual(['attachSession']);
    expect(actions.map((a) => a.type)).not.toContain('xstate.cancel');
  });

  it('queued → the handshake timer gives way to the admission timer', () => {
    const { next, actions, ran } = step(stateAfter(HELLO, authDone()), { type: 'admission.queued' });
    expect(next.value).toEqual({ connecting: 'queued' });
    expect(ran).toEqual([]);
    expect(actions.map((a) => a.type)).toEqual(expect.arrayContaining(['xstate.cancel', 'xstate.raise']));
  });

  it('refused by the pool → failed with the pool’s code, the transport closed with it', () => {
    const { next, actions } = step(stateAfter(HELLO, authDone()), {
      type: 'admission.refused',
      code: 'SERVER_BUSY',
    });
    expect(next.value).toBe('failed');
    expect(next.context.failure).toBe('SERVER_BUSY');
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'SERVER_BUSY' });
  });

  it('granted from the line → attaching, with a fresh handshake budget for the attach', () => {
    const queued = stateAfter(HELLO, authDone(), { type: 'admission.queued' });
    const { next, actions, ran } = step(queued, GRANTED);
    expect(next.value).toEqual({ connecting: { handshake: 'attaching' } });
    expect(ran).toEqual(['attachSession']);
    expect(actions.map((a) => a.type)).toEqual(expect.arrayContaining(['xstate.cancel', 'xstate.raise']));
  });

  it('dismissed from the line (Redis gone) → failed, the transport closed with that code', () => {
    const queued = stateAfter(HELLO, authDone(), { type: 'admission.queued' });
    const { next, actions } = step(queued, { type: 'admission.refused', code: 'STORE_UNAVAILABLE' });
    expect(next.value).toBe('failed');
    expect(next.context.failure).toBe('STORE_UNAVAILABLE');
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'STORE_UNAVAILABLE' });
  });

  it('attached → connected: the session is recorded, marked live, and delivery starts', () => {
    const { next, ran } = step(stateAfter(HELLO, authDone(), GRANTED), attachDone());
    expect(next.value).toBe('connected');
    expect(next.context).toMatchObject({ sessionId: 's-1', userId: 'u-1', correlationId: 'corr-s' });
    expect(ran).toEqual(['startDelivery']);
  });

  it('attached to a session whose own actor waits here → handedOver, the transport given to it', () => {
    const { next, ran } = step(
      stateAfter(HELLO, authDone(), GRANTED),
      attachDone({ ...attached, handedOver: true }),
    );
    expect(next.value).toBe('handedOver');
    expect(next.status).toBe('done');
    expect(next.context.sessionId).toBe('s-1');
    expect(ran).toEqual(['handOverTransport']);
  });

  it('an attach that fails → failed with its code', () => {
    const { next, actions } = step(stateAfter(HELLO, authDone(), GRANTED), {
      type: 'attach.failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });
    expect(next.value).toBe('failed');
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'STORE_UNAVAILABLE' });
  });

  it.each([
    ['awaiting hello', [] as AnyEvent[]],
    ['authenticating', [HELLO]],
    ['queued', [HELLO, authDone(), { type: 'admission.queued' }]],
    ['attaching', [HELLO, authDone(), GRANTED]],
  ])('a socket that leaves while %s → closed, nothing to clean up', (_, path) => {
    for (const reason of [undefined, 'bye']) {
      const { next, ran } = step(stateAfter(...path), closed(reason));
      expect(next.value).toBe('closed');
      expect(next.context.closeReason).toBe('left before hello');
      expect(ran).toEqual([]);
    }
  });

  it('a socket closed for a rule before welcome → failed with that code', () => {
    const { next, ran } = step(stateAfter(HELLO), closed('CONNECT_RATE_LIMITED'));
    expect(next.value).toBe('failed');
    expect(next.context.failure).toBe('CONNECT_RATE_LIMITED');
    expect(ran).toEqual([]); // the socket is gone already: nothing to close
  });

  it('ignores events that do not apply: no state change, no effect', () => {
    const waiting = stateAfter();
    for (const event of [
      GRANTED,
      { type: 'admission.queued' },
      { type: 'session.taken', byNode: 'n2' },
    ] as const) {
      const { next, ran } = step(waiting, event);
      expect(next.value).toEqual(waiting.value);
      expect(ran).toEqual([]);
    }
    const admitting = stateAfter(HELLO, authDone());
    expect(step(admitting, HELLO).next.value).toEqual(admitting.value);
  });

  it('a step answer outside its step’s state changes nothing (a late or stray one)', () => {
    const failure = { code: 'STORE_UNAVAILABLE' };
    const answers: AnyEvent[] = [
      authDone(),
      { type: 'authenticate.failed', error: failure },
      attachDone(),
      { type: 'attach.failed', error: failure },
    ];
    const places: [string, AnyEvent[], AnyEvent[]][] = [
      ['awaiting hello', [], answers],
      ['authenticating', [HELLO], answers.slice(2)],
      ['admitting', [HELLO, authDone()], answers],
      ['queued', [HELLO, authDone(), { type: 'admission.queued' }], answers],
      ['attaching', [HELLO, authDone(), GRANTED], answers.slice(0, 2)],
      ['connected', connectedPath, answers],
    ];
    for (const [place, path, stray] of places) {
      const at = stateAfter(...path);
      for (const event of stray) {
        const { next, ran } = step(at, event);
        expect(next.value, `${place} ← ${event.type}`).toEqual(at.value);
        expect(ran, `${place} ← ${event.type}`).toEqual([]);
      }
    }
  });
});

describe('connection machine — a live session', () => {
  it('its transport lost → reconnecting: resumable, resume timer armed, session kept', () => {
    const { next, ran, actions } = step(stateAfter(...connectedPath), closed());
    expect(next.value).toBe('reconnecting');
    expect(next.context.lastCloseCode).toBe(1006);
    expect(ran).toEqual(['markSessionResumable']);
    expect(actions.map((a) => a.type)).toContain('xstate.raise'); // the delayed resumeWindow
  });

  it('closed for a broken rule (e.g. MESSAGE_TOO_LARGE) → reconnecting: the registry says reconnect to resume', () => {
    const { next, ran } = step(stateAfter(...connectedPath), closed('MESSAGE_TOO_LARGE'));
    expect(next.value).toBe('reconnecting');
    expect(next.context.lastCloseReason).toBe('MESSAGE_TOO_LARGE');
    expect(ran).toEqual(['markSessionResumable']);
  });

  it('bye → closed, and the session is deleted', () => {
    const { next, ran } = step(stateAfter(...connectedPath), closed('bye'));
    expect(next.value).toBe('closed');
    expect(next.context.closeReason).toBe('client said bye');
    expect(ran).toEqual(['deleteSession']);
  });

  it('the late close of a retired transport changes nothing', () => {
    const live = stateAfter(...connectedPath);
    const { next, ran } = step(live, closed(undefined, 'an-older-socket'));
    expect(next.value).toBe('connected');
    expect(ran).toEqual([]);
  });

  it('a newer socket resumes it while the old one looks open: the old is retired, delivery restarts', () => {
    const event: ConnectionEvent = {
      type: 'transport.attached',
      connectionId: 'conn-2',
      correlationId: 'corr-s',
      tokenExpiresAt: 99,
    };
    const { next, ran, actions } = step(stateAfter(...connectedPath), event);
    expect(next.value).toBe('connected');
    expect(next.context).toMatchObject({ connectionId: 'conn-2', reconnections: 1, tokenExpiresAt: 99 });
    expect(ran).toEqual(['retireTransport', 'startDelivery']);
    expect(paramsOf(actions, 'retireTransport')).toEqual({ connectionId: 'conn-1' });
  });

  it('taken over by another process while connected → closed, its transport closed, the session left to the taker', () => {
    const { next, ran, actions } = step(stateAfter(...connectedPath), {
      type: 'session.taken',
      byNode: 'node-b',
    });
    expect(next.value).toBe('closed');
    expect(next.context.closeReason).toBe('resumed on node-b');
    expect(ran).toEqual(['closeTransport']);
    expect(paramsOf(actions, 'closeTransport')).toMatchObject({ code: 'SERVICE_RESTART' });
  });

  it('taken over while reconnecting → closed, with nothing to close or delete', () => {
    const { next, ran } = step(stateAfter(...connectedPath, closed()), {
      type: 'session.taken',
      byNode: 'node-b',
    });
    expect(next.value).toBe('closed');
    expect(ran).toEqual([]);
  });

  it('reconnecting + a transport attached → connected on it, counted, delivery restarts', () => {
    const event: ConnectionEvent = {
      type: 'transport.attached',
      connectionId: 'conn-2',
      correlationId: 'corr-s',
    };
    const { next, ran } = step(stateAfter(...connectedPath, closed()), event);
    expect(next.value).toBe('connected');
    expect(next.context).toMatchObject({ connectionId: 'conn-2', reconnections: 1 });
    expect(ran).toEqual(['startDelivery']);
  });

  it('final states accept nothing', () => {
    for (const final of [
      stateAfter(...connectedPath, closed('bye')),
      stateAfter(HELLO, closed('HELLO_REQUIRED')),
    ]) {
      expect(final.status).toBe('done');
      expect(
        step(final, { type: 'transport.attached', connectionId: 'x', correlationId: 'y' }).next.value,
      ).toBe(final.value);
    }
  });

  it('types: an unknown event type does not compile', () => {
    // @ts-expect-error — 'socket.exploded' is not a ConnectionEvent
    const event: ConnectionEvent = { type: 'socket.exploded' };
    expect(step(stateAfter(), event).next.value).toEqual({ connecting: { handshake: 'awaitingHello' } });
  });
});

describe('connection machine — the backend’s orders (src/control/)', () => {
  const issuedAt = 1_000_000;
  const liveWithToken = () =>
    stateAfter(HELLO, authDone({ ...authenticated, tokenIssuedAt: issuedAt }), GRANTED, attachDone());
  const reconnecting = () => step(liveWithToken(), closed()).next;

  it('a resumable disconnect closes the transport with DISCONNECTED_BY_SERVER; its close leaves the session resumable', () => {
    const { next, ran, actions } = step(liveWithToken(), {
      type: 'server.disconnect',
      resumable: true,
      reason: 'rebalance',
    });
    expect(next.value).toBe('connected');
    expect(ran).toEqual(['closeTransport']);
    expect(paramsOf(actions, 'closeTransport')).toEqual({
      code: 'DISCONNECTED_BY_SERVER',
      detail: 'rebalance',
    });
    const after = step(next, closed('DISCONNECTED_BY_SERVER'));
    expect(after.next.value).toBe('reconnecting');
    expect(after.ran).toEqual(['markSessionResumable']);
  });

  it('a final disconnect → closed: the transport closed with SESSION_CLOSED_BY_SERVER and the session deleted', () => {
    const { next, ran, actions } = step(liveWithToken(), { type: 'server.disconnect', resumable: false });
    expect(next.value).toBe('closed');
    expect(next.context.closeReason).toBe('ended by the server');
    expect(ran).toEqual(['closeTransport', 'deleteSession']);
    expect(paramsOf(actions, 'closeTransport')).toEqual({
      code: 'SESSION_CLOSED_BY_SERVER',
      detail: undefined,
    });
  });

  it('while reconnecting: a final disconnect deletes the session; a resumable one changes nothing', () => {
    const final = step(reconnecting(), { type: 'server.disconnect', resumable: false, reason: 'kicked' });
    expect(final.next.value).toBe('closed');
    expect(final.next.context.closeReason).toBe('ended by the server: kicked');
    expect(final.ran).toEqual(['deleteSession']);
    const resumable = step(reconnecting(), { type: 'server.disconnect', resumable: true });
    expect(resumable.next.value).toBe('reconnecting');
    expect(resumable.ran).toEqual([]);
  });

  it('a blocked user → failed USER_BLOCKED, from connected (transport closed) and from reconnecting; the session deleted', () => {
    const live = step(liveWithToken(), { type: 'user.blocked', reason: 'abuse' });
    expect(live.next.value).toBe('failed');
    expect(live.next.context.failure).toBe('USER_BLOCKED');
    expect(live.ran).toEqual(['closeTransport', 'deleteSession']);
    expect(paramsOf(live.actions, 'closeTransport')).toEqual({ code: 'USER_BLOCKED', detail: 'abuse' });
    const waiting = step(reconnecting(), { type: 'user.blocked' });
    expect(waiting.next.context.failure).toBe('USER_BLOCKED');
    expect(waiting.ran).toEqual(['deleteSession']);
  });

  it('revoked tokens: a token issued before closes with AUTH_TOKEN_REVOKED (resumable); one issued at or after stays', () => {
    const before = step(liveWithToken(), { type: 'tokens.revoked', before: issuedAt + 1 });
    expect(before.next.value).toBe('connected');
    expect(before.ran).toEqual(['closeTransport']);
    expect(paramsOf(before.actions, 'closeTransport')).toEqual({ code: 'AUTH_TOKEN_REVOKED' });
    expect(step(before.next, closed('AUTH_TOKEN_REVOKED')).next.value).toBe('reconnecting');
    const after = step(liveWithToken(), { type: 'tokens.revoked', before: issuedAt });
    expect(after.ran).toEqual([]);
    expect(step(reconnecting(), { type: 'tokens.revoked', before: issuedAt + 1 }).ran).toEqual([]);
  });

  it('a token without iat counts as issued before any revocation', () => {
    const { ran } = step(stateAfter(...connectedPath), { type: 'tokens.revoked', before: 1 });
    expect(ran).toEqual(['closeTransport']);
  });

  it('a refresh or a resume brings the new token’s iat', () => {
    const refreshed = step(liveWithToken(), { type: 'token.refreshed', tokenIssuedAt: issuedAt + 5 }).next;
    expect(step(refreshed, { type: 'tokens.revoked', before: issuedAt + 1 }).ran).toEqual([]);
    const resumed = step(reconnecting(), {
      type: 'transport.attached',
      connectionId: 'conn-2',
      correlationId: 'c',
      tokenIssuedAt: issuedAt + 5,
    }).next;
    expect(resumed.context.tokenIssuedAt).toBe(issuedAt + 5);
    expect(step(resumed, { type: 'tokens.revoked', before: issuedAt + 1 }).ran).toEqual([]);
  });

  it('during the handshake (user known): each order refuses it → failed with its code, transport closed', () => {
    const admitting = () => stateAfter(HELLO, authDone({ ...authenticated, tokenIssuedAt: issuedAt }));
    for (const [event, code] of [
      [{ type: 'server.disconnect', resumable: true }, 'DISCONNECTED_BY_SERVER'],
      [{ type: 'server.disconnect', resumable: false }, 'SESSION_CLOSED_BY_SERVER'],
      [{ type: 'user.blocked' }, 'USER_BLOCKED'],
      [{ type: 'tokens.revoked', before: issuedAt + 1 }, 'AUTH_TOKEN_REVOKED'],
    ] as const) {
      const { next, actions } = step(admitting(), event);
      expect(next.value).toBe('failed');
      expect(next.context.failure).toBe(code);
      expect(paramsOf(actions, 'closeTransport')).toMatchObject({ code });
    }
    expect(step(admitting(), { type: 'tokens.revoked', before: issuedAt }).next.value).toEqual({
      connecting: { handshake: 'admitting' },
    });
  });
});

describe('connection machine — the error budget', () => {
  const rejected = (at: number): ConnectionEvent => ({
    type: 'frame.rejected',
    code: 'MALFORMED_MESSAGE',
    at,
  });

  it('counts rejected frames on the session; one past MAX_ERRORS_PER_MINUTE closes with TOO_MANY_ERRORS', () => {
    let snapshot = stateAfter(...connectedPath);
    for (let i = 1; i <= settings.maxErrorsPerMinute; i++) {
      const { next, ran } = step(snapshot, rejected(1000 + i));
      expect(ran).toEqual(['recordError']);
      snapshot = next;
    }
    expect(snapshot.context.errors).toBe(3);
    const { ran, actions } = step(snapshot, rejected(2000));
    expect(ran).toEqual(['recordError', 'closeTransport']);
    expect(paramsOf(actions, 'closeTransport')).toEqual({ code: 'TOO_MANY_ERRORS' });
  });

  it('a minute later the count starts again', () => {
    let snapshot = stateAfter(...connectedPath);
    for (let i = 0; i < settings.maxErrorsPerMinute; i++) snapshot = step(snapshot, rejected(1000)).next;
    const { next, ran } = step(snapshot, rejected(1000 + 60_001));
    expect(ran).toEqual(['recordError']);
    expect(next.context).toMatchObject({ errors: 1, errorsSince: 61_001 });
  });

  it('counts before hello too (the budget is the socket’s)', () => {
    let snapshot = stateAfter();
    for (let i = 0; i < settings.maxErrorsPerMinute; i++) snapshot = step(snapshot, rejected(i)).next;
    expect(step(snapshot, rejected(10)).ran).toContain('closeTransport');
  });
});

describe('connection machine — timers, with an actor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** An actor whose steps resolve as given (or never), with every effect recorded. */
  function actorWith(
    steps: { authenticate?: () => Promise<Authenticated>; attach?: () => Promise<Attached> } = {},
  ) {
    const ran: { type: string; params?: unknown }[] = [];
    const record = (type: string) => (_: unknown, params?: unknown) => {
      ran.push({ type, params });
    };
    const never = () => new Promise<never>(() => {});
    // As src/core/connection-runtime.ts runs them: the step's result comes back as an event.
    const run =
      <T>(
        work: () => Promise<T>,
        done: (output: T) => ConnectionEvent,
        failed: (error: unknown) => ConnectionEvent,
      ) =>
      ({ self }: { self: { send(event: ConnectionEvent): void } }) => {
        work().then(
          (output) => self.send(done(output)),
          (error: unknown) => self.send(failed(error)),
        );
      };
    const provided = connectionMachine.provide({
      ...withSettings(settings),
      actions: {
        closeTransport: record('closeTransport'),
        retireTransport: record('retireTransport'),
        requestAdmission: record('requestAdmission'),
        startDelivery: record('startDelivery'),
        handOverTransport: record('handOverTransport'),
        markSessionResumable: record('markSessionResumable'),
        deleteSession: record('deleteSession'),
        recordError: record('recordError'),
        authenticate: run(
          steps.authenticate ?? never,
          (output) => ({ type: 'authenticate.done', output }),
          (error) => ({ type: 'authenticate.failed', error }),
        ),
        attachSession: run(
          steps.attach ?? never,
          (output) => ({ type: 'attach.done', output }),
          (error) => ({ type: 'attach.failed', error }),
        ),
      },
    });
    const actor = createActor(provided, { input }).start();
    const effectTypes = () => ran.map((r) => r.type);
    return { actor, ran, effectTypes };
  }

  async function connected(tokenExpiresAt?: number) {
    const a = actorWith({
      authenticate: async () => ({ ...authenticated, tokenExpiresAt }),
      attach: async () => attached,
    });
    a.actor.send(HELLO as ConnectionEvent);
    await vi.advanceTimersByTimeAsync(0);
    a.actor.send(GRANTED as ConnectionEvent);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.actor.getSnapshot().value).toBe('connected');
    return a;
  }

  it('no hello within handshakeTimeout → failed HANDSHAKE_TIMEOUT, transport closed with that code', () => {
    const { actor, ran } = actorWith();
    vi.advanceTimersByTime(settings.handshakeTimeoutMs);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure).toBe('HANDSHAKE_TIMEOUT');
    expect(ran).toEqual([{ type: 'closeTransport', params: { code: 'HANDSHAKE_TIMEOUT' } }]);
  });

  it('the budget covers the token check: a verification that hangs is the gateway’s SERVER_TIMEOUT, not the client’s', () => {
    const { actor, ran } = actorWith();
    actor.send(HELLO as ConnectionEvent);
    vi.advanceTimersByTime(settings.handshakeTimeoutMs - 1);
    expect(actor.getSnapshot().value).toEqual({ connecting: { handshake: 'authenticating' } });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().context.failure).toBe('SERVER_TIMEOUT');
    expect(ran.at(-1)).toEqual({ type: 'closeTransport', params: { code: 'SERVER_TIMEOUT' } });
  });

  it('a session step that outlasts the budget after a direct admission → SERVER_TIMEOUT', async () => {
    const { actor } = actorWith({ authenticate: async () => authenticated });
    actor.send(HELLO as ConnectionEvent);
    await vi.advanceTimersByTimeAsync(0);
    actor.send(GRANTED as ConnectionEvent);
    expect(actor.getSnapshot().value).toEqual({ connecting: { handshake: 'attaching' } });
    vi.advanceTimersByTime(settings.handshakeTimeoutMs);
    expect(actor.getSnapshot().context.failure).toBe('SERVER_TIMEOUT');
  });

  it('hello, token, slot and session in time → connected, and the handshake timer is gone', async () => {
    const { actor, effectTypes } = await connected();
    vi.advanceTimersByTime(settings.handshakeTimeoutMs * 2);
    expect(actor.getSnapshot().value).toBe('connected');
    expect(effectTypes()).toEqual(['requestAdmission', 'startDelivery']);
  });

  it('queued past admissionTimeout → failed ADMISSION_TIMEOUT, transport closed with that code', async () => {
    const { actor, ran } = actorWith({ authenticate: async () => authenticated });
    actor.send(HELLO as ConnectionEvent);
    await vi.advanceTimersByTimeAsync(0);
    actor.send({ type: 'admission.queued' });
    vi.advanceTimersByTime(settings.handshakeTimeoutMs); // the handshake budget no longer runs
    expect(actor.getSnapshot().value).toEqual({ connecting: 'queued' });
    vi.advanceTimersByTime(settings.admissionTimeoutMs - settings.handshakeTimeoutMs);
    expect(actor.getSnapshot().context.failure).toBe('ADMISSION_TIMEOUT');
    expect(ran.at(-1)).toEqual({ type: 'closeTransport', params: { code: 'ADMISSION_TIMEOUT' } });
  });

  it('admitted from the line: the attach gets a full handshake budget of its own', async () => {
    const { actor } = actorWith({ authenticate: async () => authenticated });
    actor.send(HELLO as ConnectionEvent);
    await vi.advanceTimersByTimeAsync(0);
    actor.send({ type: 'admission.queued' });
    vi.advanceTimersByTime(20_000);
    actor.send(GRANTED as ConnectionEvent);
    vi.advanceTimersByTime(settings.handshakeTimeoutMs - 1);
    expect(actor.getSnapshot().value).toEqual({ connecting: { handshake: 'attaching' } });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().context.failure).toBe('SERVER_TIMEOUT');
  });

  it('a token that expires mid-session closes the transport with AUTH_TOKEN_EXPIRED; the session stays resumable', async () => {
    const { actor, ran } = await connected(Date.now() + 5_000);
    vi.advanceTimersByTime(4_999 + EXPIRY_CHECK_LATE_MS);
    expect(ran.some((r) => r.type === 'closeTransport')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(ran.at(-1)).toEqual({ type: 'closeTransport', params: { code: 'AUTH_TOKEN_EXPIRED' } });
    actor.send(closed('AUTH_TOKEN_EXPIRED'));
    expect(actor.getSnapshot().value).toBe('reconnecting');
  });

  it('a resume with a fresh token re-arms the expiry from the new token', async () => {
    const { actor, ran } = await connected(Date.now() + 5_000);
    actor.send(closed());
    actor.send({
      type: 'transport.attached',
      connectionId: 'c2',
      correlationId: 'x',
      tokenExpiresAt: Date.now() + 60_000,
    });
    vi.advanceTimersByTime(59_999 + EXPIRY_CHECK_LATE_MS);
    expect(ran.filter((r) => r.type === 'closeTransport')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran.at(-1)).toEqual({ type: 'closeTransport', params: { code: 'AUTH_TOKEN_EXPIRED' } });
  });

  it('a refreshed token moves the expiry: the old one passes, the connection stays', async () => {
    const { actor, ran } = await connected(Date.now() + 5_000);
    actor.send({ type: 'token.refreshed', tokenExpiresAt: Date.now() + 60_000 });
    expect(actor.getSnapshot().value).toBe('connected');
    vi.advanceTimersByTime(59_999 + EXPIRY_CHECK_LATE_MS);
    expect(ran.filter((r) => r.type === 'closeTransport')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran.at(-1)).toEqual({ type: 'closeTransport', params: { code: 'AUTH_TOKEN_EXPIRED' } });
  });

  it('a token without expiry never closes the transport', async () => {
    const { ran } = await connected(undefined);
    vi.advanceTimersByTime(2 ** 31);
    expect(ran.filter((r) => r.type === 'closeTransport')).toEqual([]);
  });

  it('reconnecting past the resume window → failed RESUME_EXPIRED and the session is deleted', async () => {
    const { actor, effectTypes } = await connected();
    actor.send(closed());
    vi.advanceTimersByTime(settings.resumeWindowMs - 1);
    expect(actor.getSnapshot().value).toBe('reconnecting');
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.failure).toBe('RESUME_EXPIRED');
    expect(effectTypes().at(-1)).toBe('deleteSession');
  });

  it('a transport attached within the window → connected, reconnections 1, the timer is gone', async () => {
    const { actor, effectTypes } = await connected();
    actor.send(closed());
    vi.advanceTimersByTime(settings.resumeWindowMs / 2);
    actor.send({ type: 'transport.attached', connectionId: 'conn-2', correlationId: 'corr-2' });
    vi.advanceTimersByTime(settings.resumeWindowMs);
    expect(actor.getSnapshot().value).toBe('connected');
    expect(actor.getSnapshot().context.reconnections).toBe(1);
    expect(effectTypes()).not.toContain('deleteSession');
  });

  it('each drop gets a fresh window', async () => {
    const { actor } = await connected();
    for (let drop = 0; drop < 3; drop++) {
      actor.send(closed(undefined, actor.getSnapshot().context.connectionId));
      vi.advanceTimersByTime(settings.resumeWindowMs - 1);
      actor.send({ type: 'transport.attached', connectionId: `conn-${drop + 2}`, correlationId: 'c' });
    }
    expect(actor.getSnapshot().value).toBe('connected');
    expect(actor.getSnapshot().context.reconnections).toBe(3);
  });

  it('the delays and the error budget come from the provided settings, not the context', () => {
    const quick = connectionMachine.provide({
      ...withSettings({ ...settings, handshakeTimeoutMs: 50 }),
      actions: { closeTransport: () => {} },
    });
    const actor = createActor(quick, { input }).start();
    expect(actor.getSnapshot().context).not.toHaveProperty('handshakeTimeoutMs');
    vi.advanceTimersByTime(49);
    expect(actor.getSnapshot().value).toEqual({ connecting: { handshake: 'awaitingHello' } });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().context.failure).toBe('HANDSHAKE_TIMEOUT');
  });

  it('without settings the machine runs with the configuration defaults', () => {
    const actor = createActor(connectionMachine.provide({ actions: { closeTransport: () => {} } }), {
      input,
    }).start();
    vi.advanceTimersByTime(DEFAULT_SETTINGS.handshakeTimeoutMs - 1);
    expect(actor.getSnapshot().value).toEqual({ connecting: { handshake: 'awaitingHello' } });
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().context.failure).toBe('HANDSHAKE_TIMEOUT');
  });
});

describe('reading the handshake state without matches() (src/core/connection-actor.ts)', () => {
  it('knows every state of connecting.handshake, and reads each from a snapshot value', () => {
    const handshake = connectionMachine.root.states.connecting?.states.handshake;
    expect(Object.keys(handshake?.states ?? {})).toEqual([...HANDSHAKE_STATES]);
    for (const state of HANDSHAKE_STATES)
      expect(handshakeState({ connecting: { handshake: state } })).toBe(state);
    expect(handshakeState('connected')).toBeUndefined();
    expect(handshakeState(initialTransition(machine, input)[0].value)).toBe('awaitingHello');
  });
});
