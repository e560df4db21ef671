/**
 * machines/client.machine.ts, what an application would notice over a client's life:
 * a long-lived client that reconnects successfully many times never "runs out" of
 * attempts; a gateway that holds it in its admission queue too long, the network going
 * away or `disconnect()` during the handshake each end the attempt the documented way.
 * (Survivors of `npm run mutation` before these tests: all of these passed with the
 * behaviour removed.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import {
  type ClientEvent,
  type ClientFailure,
  type ClientMachineInput,
  clientMachine,
} from '../../machines/client.machine.ts';

const connect: ClientEvent = { type: 'client.connect' };
const welcomed: ClientEvent = { type: 'socket.welcomed', sessionId: 's-1' };
const dropped: ClientEvent = { type: 'socket.closed', failure: { code: 'CONNECTION_LOST', retryable: true } };

function walk(input: ClientMachineInput, ...events: ClientEvent[]) {
  let [snapshot, actions] = initialTransition(clientMachine, input);
  for (const event of events) [snapshot, actions] = transition(clientMachine, snapshot, event);
  return { snapshot, actions };
}

const paramsOf = (actions: readonly { type: string; params?: unknown }[], type: string) =>
  actions.filter((a) => a.type === type).map((a) => a.params);

describe('client machine — a long life', () => {
  it('every successful reconnect starts the attempt count afresh: 2 attempts allowed, 5 drops survived', () => {
    const events: ClientEvent[] = [connect, welcomed];
    for (let drop = 0; drop < 5; drop++) events.push(dropped, connect, welcomed);
    const { snapshot } = walk({ maxAttempts: 2 }, ...events, dropped);
    expect(snapshot.value).toEqual({ reconnecting: 'waiting' });
    expect(snapshot.context.attempt).toBe(1);
    expect(snapshot.context.exhausted).toBe(false);
  });

  it('after giving up, connect() gets the full number of attempts again, and is no longer exhausted', () => {
    const exhausted = walk({ maxAttempts: 1 }, connect, dropped, connect, dropped);
    expect(exhausted.snapshot.value).toBe('failed');
    expect(exhausted.snapshot.context.exhausted).toBe(true);
    const again = walk({ maxAttempts: 1 }, connect, dropped, connect, dropped, connect);
    expect(again.snapshot.value).toEqual({ connecting: 'opening' });
    expect(again.snapshot.context).toMatchObject({ attempt: 0, exhausted: false });
    expect(
      walk({ maxAttempts: 1 }, connect, dropped, connect, dropped, connect, dropped).snapshot.value,
    ).toEqual({
      reconnecting: 'waiting',
    });
  });

  it('connect() after disconnect() opens again with a fresh attempt count', () => {
    const { snapshot, actions } = walk(
      { maxAttempts: 1 },
      connect,
      dropped,
      { type: 'client.disconnect' },
      connect,
    );
    expect(snapshot.value).toEqual({ connecting: 'opening' });
    expect(snapshot.context.attempt).toBe(0);
    expect(actions.map((a) => a.type)).toContain('openSocket');
  });

  it('the network going away during a backoff: no attempt is spent until it returns', () => {
    const away = walk({}, connect, dropped, { type: 'network.offline' });
    expect(away.snapshot.value).toEqual({ reconnecting: 'offline' });
    expect(away.snapshot.context.attempt).toBe(1);
    expect(
      walk({}, connect, dropped, { type: 'network.offline' }, { type: 'network.online' }).snapshot.value,
    ).toEqual({
      connecting: 'opening',
    });
  });
});

describe('client machine — ending a handshake', () => {
  const offlineFailure: ClientFailure = { code: 'NETWORK_OFFLINE', retryable: true };

  it('the network going away during the handshake closes the socket at once and waits for it, retryable', () => {
    const { snapshot, actions } = walk({}, connect, { type: 'network.offline' });
    expect(snapshot.value).toEqual({ reconnecting: 'offline' });
    expect(snapshot.context.lastError).toEqual(offlineFailure);
    expect(paramsOf(actions, 'closeSocket')).toEqual([{ graceful: false }]);
  });

  it('the network going away while connected: the same, retryable', () => {
    const { snapshot, actions } = walk({}, connect, welcomed, { type: 'network.offline' });
    expect(snapshot.context.lastError).toEqual(offlineFailure);
    expect(paramsOf(actions, 'closeSocket')).toEqual([{ graceful: false }]);
  });

  it('disconnect() during the handshake says bye, ends closed, and rejects what was queued (not fatal)', () => {
    const { snapshot, actions } = walk({}, connect, { type: 'client.disconnect' });
    expect(snapshot.value).toBe('closed');
    expect(paramsOf(actions, 'closeSocket')).toEqual([{ graceful: true }]);
    expect(paramsOf(actions, 'abandonOutbox')).toEqual([{ fatal: false }]);
  });

  it('disconnect() while queued by the gateway: the same', () => {
    const queued: ClientEvent = { type: 'socket.queued', position: 2, estimatedWaitMs: 500 };
    const { snapshot, actions } = walk({}, connect, queued, { type: 'client.disconnect' });
    expect(snapshot.value).toBe('closed');
    expect(paramsOf(actions, 'closeSocket')).toEqual([{ graceful: true }]);
  });
});

describe('client machine — timeouts (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function start(input: ClientMachineInput) {
    const closes: { graceful: boolean }[] = [];
    const actor = createActor(
      clientMachine.provide({ actions: { closeSocket: (_, params) => closes.push(params) } }),
      { input: { random: () => 0.5, ...input } },
    );
    actor.start();
    return { actor, closes };
  }

  it('held in the admission queue past queueTimeoutMs without news: the socket is closed and retried', () => {
    const { actor, closes } = start({ queueTimeoutMs: 5000, connectTimeoutMs: 1000 });
    actor.send(connect);
    actor.send({ type: 'socket.queued', position: 4, estimatedWaitMs: 3000 });
    vi.advanceTimersByTime(4000); // past the connect timeout: while queued, that one does not apply
    actor.send({ type: 'socket.queued', position: 2, estimatedWaitMs: 1000 }); // news re-arms the wait
    vi.advanceTimersByTime(4999);
    expect(actor.getSnapshot().value).toEqual({ connecting: 'queued' });
    expect(closes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(actor.getSnapshot().value).toEqual({ reconnecting: 'waiting' });
    expect(actor.getSnapshot().context.lastError).toEqual({ code: 'QUEUE_TIMEOUT', retryable: true });
    expect(closes).toEqual([{ graceful: false }]);
    actor.stop();
  });

  it('a connect timeout closes the socket without bye', () => {
    const { actor, closes } = start({ connectTimeoutMs: 1000 });
    actor.send(connect);
    vi.advanceTimersByTime(1000);
    expect(closes).toEqual([{ graceful: false }]);
    actor.stop();
  });

  it('a heartbeat timeout closes the socket without bye', () => {
    const { actor, closes } = start({ pingIntervalMs: 1000, pongTimeoutMs: 500 });
    actor.send(connect);
    actor.send(welcomed);
    vi.advanceTimersByTime(1500);
    expect(actor.getSnapshot().context.lastError?.code).toBe('HEARTBEAT_TIMEOUT');
    expect(closes).toEqual([{ graceful: false }]);
    actor.stop();
  });
});
