/**
 * Subscriptions as objects, `stats()` and errors that point at the cause, against a
 * scripted gateway (FakeWebSocket): a subscription's own states and events (with the
 * log epoch a newer gateway sends), a refusal that ends it, `stats()` in one call, an
 * unreachable gateway reported once — not per attempt, and not blamed on the token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherClient, type TetherClientError } from '../../packages/client/src/index.ts';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import {
  connectAndWelcome as connectTo,
  FakeWebSocket,
  SCRIPTED_CLIENT,
  settle,
  welcomeFrame as welcome,
} from '../support/fake-websocket.ts';

let client: TetherClient;
const newClient = (options: Partial<ConstructorParameters<typeof TetherClient>[0]> = {}) => {
  client = new TetherClient({ ...SCRIPTED_CLIENT, token: 'tok', ...options });
  return client;
};
const connectAndWelcome = (frame?: WelcomeFrame) => connectTo(client, frame);

beforeEach(() => FakeWebSocket.reset());
afterEach(() => client?.disconnect());

describe('a subscription', () => {
  it('has its own state, publications, position and a recovered notice after a resume', async () => {
    newClient();
    const room = client.subscribe('room:1'); // before connecting: sent on welcome
    const states: string[] = [];
    const got: string[] = [];
    const recovered: unknown[] = [];
    room.on('state', ({ newState }) => states.push(newState));
    room.on('publication', (e) => got.push(e.id));
    room.on('recovered', (r) => recovered.push(r));
    expect(room.state).toBe('subscribing');
    const first = await connectAndWelcome();
    const { ref } = first.sentOfType('subscribe')[0]!;
    first.receive({ type: 'subscribed', ref, channel: 'room:1', recovered: true, after: '0-0', epoch: 'e1' });
    for (const id of ['1-0', '2-0', '2-0'])
      first.receive({ type: 'event', channel: 'room:1', id, ts: 1, data: null });
    expect(got).toEqual(['1-0', '2-0']);
    expect(room.position).toEqual({ id: '2-0', epoch: 'e1' });

    first.drop(1006);
    expect(room.state).toBe('subscribing'); // waiting to be resumed
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(
      welcome({
        resumed: true,
        channels: [{ channel: 'room:1', recovered: false, after: '5-0', epoch: 'e1' }],
      }),
    );
    FakeWebSocket.last.receive({ type: 'subscribed', channel: 'room:1', recovered: false, after: '5-0' });
    expect(recovered).toEqual([{ recovered: false, after: '5-0', resumed: true, epoch: 'e1' }]);
    expect(states).toEqual(['subscribed', 'subscribing', 'subscribed']);
    // The gap is reported, and delivery continues after `after`: that is the position now.
    expect(client.stats().subscriptions).toEqual({
      'room:1': { state: 'subscribed', position: { id: '5-0', epoch: 'e1' } },
    });
  });

  it('fails for good on a refusal that cannot pass, and a new subscribe starts afresh', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const secret = client.subscribe('secret:1');
    const ready = secret.ready();
    const { ref } = socket.sentOfType('subscribe')[0]!;
    socket.receive({
      type: 'error',
      ref,
      code: 'FORBIDDEN_CHANNEL',
      category: 'event',
      message: 'no',
      recovery: 'ask for a token',
      retryable: false,
      correlationId: 'c',
    });
    await expect(ready).rejects.toMatchObject({ code: 'FORBIDDEN_CHANNEL' });
    expect(secret.state).toBe('failed');
    expect(client.getSubscription('secret:1')).toBeUndefined();
    expect(client.subscribe('secret:1')).not.toBe(secret);
  });

  it('unsubscribe() ends it, tells the gateway, and is not resumed', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const room = client.subscribe('room:2');
    room.unsubscribe();
    expect(room.state).toBe('unsubscribed');
    // With a ref: its answer is told apart from the backend's server-side unsubscribe.
    expect(socket.sentOfType('unsubscribe')).toEqual([
      { type: 'unsubscribe', channel: 'room:2', ref: expect.any(String) },
    ]);
    await expect(room.ready()).rejects.toMatchObject({ code: 'UNSUBSCRIBED' });
    expect(client.subscriptions).toEqual([]);
  });
});

describe('page sizes', () => {
  it('a history or presence limit the gateway would refuse throws a TypeError and sends nothing', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const room = client.subscribe('room:3');
    for (const limit of [0, 1001, 1.5, Number.NaN])
      expect(() => client.history('room:3', { limit })).toThrow(
        /history limit must be an integer from 1 to 1000/,
      );
    for (const limit of [-1, 1001, 2.5])
      expect(() => room.presence({ limit })).toThrow(/presence limit must be an integer from 0 to 1000/);
    expect(socket.sentOfType('history')).toEqual([]);
    expect(socket.sentOfType('presence')).toEqual([]);
    void client.history('room:3', { limit: 1000 }).catch(() => {});
    void room.presence({ limit: 0 }).catch(() => {});
    expect(socket.sentOfType('history')).toHaveLength(1);
    expect(socket.sentOfType('presence')).toHaveLength(1);
  });
});

describe('stats() and errors', () => {
  it('stats() tells the connection in one call', async () => {
    newClient({ maxReconnectAttempts: 10 });
    const socket = await connectAndWelcome();
    const unconfirmed = client.publish('room:1', 1);
    const stats = client.stats();
    expect(stats).toMatchObject({
      state: 'connected',
      healthy: true,
      attempt: 0,
      maxReconnectAttempts: 10,
      queued: 0,
      inFlight: 1,
      reconnections: 0,
      sessionId: 'sess-1',
      correlationId: 'corr-1',
    });
    expect(stats.uptimeMs).toBeGreaterThanOrEqual(0);
    socket.drop(1006);
    await expect(unconfirmed).rejects.toMatchObject({ code: 'DELIVERY_UNCONFIRMED' });
    void client.publish('room:1', 2).catch(() => {});
    expect(client.stats()).toMatchObject({ state: 'reconnecting', healthy: false, queued: 1, uptimeMs: 0 });
    expect(client.stats().lastError).toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it('an unreachable gateway is one GATEWAY_UNREACHABLE, not one error per attempt — and not the token’s fault', async () => {
    newClient({ token: undefined, getToken: () => Promise.reject(new TypeError('fetch failed')) });
    const errors: TetherClientError[] = [];
    const attempts: number[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('state', (s) => s.newState === 'reconnecting' && attempts.push(s.attempt));
    client.connect();
    while (attempts.length < 5) await new Promise((r) => setTimeout(r, 5));
    expect(errors.map((e) => e.code)).toEqual(['GATEWAY_UNREACHABLE']);
    expect(errors[0]).toMatchObject({ category: 'connection', retryable: true });
    expect(errors[0]!.recovery).toMatch(/keeps retrying/);
    expect(errors[0]!.cause).toMatchObject({ code: 'TOKEN_UNAVAILABLE' }); // what getToken() said
  });
});
