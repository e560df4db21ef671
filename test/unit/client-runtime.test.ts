/**
 * The SDK runtime against a scripted gateway (FakeWebSocket): the offline queue,
 * resume and de-duplication, the recovered notice, action replies, and no retry
 * after a non-retryable close.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StateChange, TetherClient, TetherClientError } from '../../packages/client/src/index.ts';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import {
  connectAndWelcome as connectTo,
  errorFrame,
  FakeWebSocket,
  SCRIPTED_CLIENT,
  settle,
  welcomeFrame as welcome,
} from '../support/fake-websocket.ts';

let client: TetherClient;
const states: string[] = [];

function newClient(options: Partial<ConstructorParameters<typeof TetherClient>[0]> = {}): TetherClient {
  client = new TetherClient({ ...SCRIPTED_CLIENT, token: 'tok', ...options });
  client.on('state', ({ newState }: StateChange) => states.push(newState));
  return client;
}

const connectAndWelcome = (frame?: WelcomeFrame) => connectTo(client, frame);

beforeEach(() => {
  FakeWebSocket.reset();
  states.length = 0;
});
afterEach(() => {
  client?.disconnect();
});

/**
 * Play the gateway through a flush of `count` queued publishes: each goes out alone — the next
 * only after this one's ack, so no refusal can reorder them — and gets its ack. Returns them.
 */
function ackInTurn(socket: FakeWebSocket, count: number): Record<string, unknown>[] {
  for (let acked = 0; acked < count; acked++) {
    const sent = socket.sentOfType('publish');
    expect(sent).toHaveLength(acked + 1);
    const f = sent[acked] as Record<string, unknown>;
    expect(f.idempotencyKey).toEqual(expect.any(String)); // a queued publish can be sent again safely
    socket.receive({ type: 'ack', ref: f.ref, channel: 'room:1', id: `1-${f.ref}` });
  }
  return socket.sentOfType('publish');
}

describe('offline queue', () => {
  it('holds publishes made before connecting and sends them in order once welcomed', async () => {
    newClient();
    const acks = Array.from({ length: 5 }, (_, i) => client.publish('room:1', { n: i + 1 }));
    expect(client.queuedCount).toBe(5);
    client.connect();
    await settle();
    const socket = FakeWebSocket.last;
    socket.open();
    expect(socket.sent.map((f) => f.type)).toEqual(['hello']); // nothing before welcome
    socket.receive(welcome());
    const publishes = ackInTurn(socket, 5);
    expect(publishes.map((f) => (f.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    const ids = (await Promise.all(acks)).map((a) => a.id);
    expect(ids).toEqual(publishes.map((f) => `1-${f.ref}`));
    expect(client.queuedCount).toBe(0);
  });

  it('is capped: past offlineQueueSize a publish fails with OFFLINE_QUEUE_FULL, the rest stay queued', async () => {
    newClient({ offlineQueueSize: 1000 });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const kept = Array.from({ length: 1000 }, (_, i) => client.publish('room:1', i));
    const overflow = client.publish('room:1', 1000);
    await expect(overflow).rejects.toMatchObject({ code: 'OFFLINE_QUEUE_FULL', retryable: false });
    await expect(overflow).rejects.toBeInstanceOf(TetherClientError);
    // Every refused call rejects; the error event is once per overflow, not once per call.
    const more = [client.publish('room:1', 'x'), client.publish('room:1', 'y')];
    for (const refused of more) await expect(refused).rejects.toMatchObject({ code: 'OFFLINE_QUEUE_FULL' });
    expect(errors).toEqual(['OFFLINE_QUEUE_FULL']);
    expect(client.queuedCount).toBe(1000);
    const socket = await connectAndWelcome();
    expect(ackInTurn(socket, 1000).map((f) => f.data)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await Promise.all(kept);
  });

  it('tells each overflow once: a queue that took requests again and overflows again is a new cause', async () => {
    newClient({ offlineQueueSize: 2 });
    const errors: string[] = [];
    client.on('error', (e) => e.code === 'OFFLINE_QUEUE_FULL' && errors.push(e.code));
    const overflowOnce = () => {
      const calls = Array.from({ length: 4 }, (_, i) => client.publish('room:1', i));
      for (const refused of calls.slice(2)) refused.catch(() => {});
      return calls.slice(0, 2);
    };
    const first = overflowOnce();
    expect(errors).toEqual(['OFFLINE_QUEUE_FULL']);
    const socket = await connectAndWelcome();
    ackInTurn(socket, 2);
    await Promise.all(first);
    socket.drop(1006);
    // Queued until the test's client is closed, which rejects them (CLIENT_CLOSED).
    for (const queued of overflowOnce()) queued.catch(() => {});
    expect(errors).toEqual(['OFFLINE_QUEUE_FULL', 'OFFLINE_QUEUE_FULL']);
  });

  it('a publish sent but not acked when the socket drops fails with DELIVERY_UNCONFIRMED', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const pending = client.publish('room:1', 'x');
    socket.drop(1006);
    await expect(pending).rejects.toMatchObject({ code: 'DELIVERY_UNCONFIRMED', retryable: true });
  });

  it('refuses a frame over the welcome’s maxMessageBytes before sending it', async () => {
    newClient();
    const socket = await connectAndWelcome(welcome({ maxMessageBytes: 1024 }));
    await expect(client.publish('room:1', 'x'.repeat(2000))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(socket.sentOfType('publish')).toEqual([]);
  });
});

describe('resume and de-duplication', () => {
  it('resumes with the last event ID per channel, and drops events already seen', async () => {
    newClient();
    const seen: string[] = [];
    client.on('event', (e) => seen.push(e.id));
    const first = await connectAndWelcome();
    const subscribed = client.subscribe('room:1');
    const sub = first.sentOfType('subscribe')[0]!;
    expect(sub).toMatchObject({ channel: 'room:1' });
    expect(sub.from).toBeUndefined();
    first.receive({ type: 'subscribed', ref: sub.ref, channel: 'room:1', recovered: true, after: '5-0' });
    await expect(subscribed.ready()).resolves.toEqual({ channel: 'room:1', recovered: true, after: '5-0' });
    for (const id of ['6-0', '7-0', '7-0', '6-0'])
      first.receive({ type: 'event', channel: 'room:1', id, ts: 1, data: id });
    first.drop(1006);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting']);
    await settle();
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.open();
    expect(second.sent[0]).toMatchObject({
      type: 'hello',
      token: 'tok',
      correlationId: 'corr-1', // the session's, from the first welcome
      resume: { sessionId: 'sess-1', resumeToken: 'rt-1', lastEventIds: { 'room:1': '7-0' } },
    });
    const recovered: unknown[] = [];
    client.on('recovered', (r) => recovered.push(r));
    second.receive(
      welcome({
        resumed: true,
        channels: [{ channel: 'room:1', recovered: true, after: '7-0', epoch: 'e1' }],
      }),
    );
    expect(second.sentOfType('subscribe')).toEqual([]); // the gateway resumed it
    const during = client.subscribe('room:1'); // its `subscribed` is on the way: no second subscribe
    expect(during).toBe(subscribed);
    expect(during.state).toBe('subscribing');
    expect(second.sentOfType('subscribe')).toEqual([]);
    second.receive({ type: 'subscribed', channel: 'room:1', recovered: true, after: '7-0' });
    await expect(during.ready()).resolves.toEqual({ channel: 'room:1', recovered: true, after: '7-0' });
    // The replay overlaps what arrived before the drop: only 8-0 is new.
    for (const id of ['7-0', '8-0'])
      second.receive({ type: 'event', channel: 'room:1', id, ts: 1, data: id });
    expect(seen).toEqual(['6-0', '7-0', '8-0']);
    expect(client.positions.duplicates).toBe(3);
    expect(recovered).toEqual([
      {
        resumed: true,
        recovered: true,
        channels: [{ channel: 'room:1', recovered: true, after: '7-0', epoch: 'e1' }],
      },
    ]);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
  });

  it('surfaces recovered: false when the session expired and the gap was trimmed', async () => {
    newClient();
    const first = await connectAndWelcome();
    void client.subscribe('room:1');
    const ref = first.sentOfType('subscribe')[0]!.ref;
    first.receive({ type: 'subscribed', ref, channel: 'room:1', recovered: true, after: '1-0' });
    first.receive({ type: 'event', channel: 'room:1', id: '2-0', ts: 1, data: null });
    first.drop(1006);
    await settle();
    const second = FakeWebSocket.last;
    second.open();
    const notices: unknown[] = [];
    const errors: string[] = [];
    client.on('recovered', (r) => notices.push(r));
    client.on('error', (e) => errors.push(e.code));
    second.receive(errorFrame('RESUME_EXPIRED'));
    second.receive(welcome({ sessionId: 'sess-2', resumeToken: 'rt-2' }));
    const resub = second.sentOfType('subscribe')[0]!;
    expect(resub).toMatchObject({ channel: 'room:1', from: '2-0' });
    second.receive({ type: 'subscribed', ref: resub.ref, channel: 'room:1', recovered: false, after: '9-0' });
    expect(errors).toEqual(['RESUME_EXPIRED']);
    expect(notices).toEqual([
      { resumed: false, recovered: false, channels: [{ channel: 'room:1', recovered: false, after: '9-0' }] },
    ]);
    expect(client.sessionId).toBe('sess-2');
  });
});

describe('subscribe', () => {
  const refused = (ref: unknown, code: string) => ({
    type: 'error',
    ref,
    code,
    category: 'system',
    message: 'try later',
    recovery: 'retry',
    retryable: true,
    retryAfterMs: 100,
    correlationId: 'c',
  });

  it.each(['STORE_UNAVAILABLE', 'MESSAGE_RATE_LIMITED'])(
    'after a retryable %s, the subscription reports it and asks again by itself after retryAfterMs',
    async (code) => {
      newClient();
      const socket = await connectAndWelcome();
      const room = client.subscribe('room:1');
      const errors: string[] = [];
      room.on('error', (e) => errors.push(e.code));
      const [sub] = socket.sentOfType('subscribe');
      socket.receive(refused(sub!.ref, code));
      expect(errors).toEqual([code]);
      expect(room.state).toBe('subscribing'); // still wanted
      expect(socket.sentOfType('subscribe')).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 150)); // retryAfterMs 100, jittered up to 120
      const retry = socket.sentOfType('subscribe')[1];
      expect(retry).toMatchObject({ channel: 'room:1' });
      expect(retry!.ref).not.toBe(sub!.ref);
      socket.receive({
        type: 'subscribed',
        ref: retry!.ref,
        channel: 'room:1',
        recovered: true,
        after: '3-0',
      });
      await expect(room.ready()).resolves.toEqual({ channel: 'room:1', recovered: true, after: '3-0' });
      expect(room.state).toBe('subscribed');
    },
  );

  it('sends one subscribe while one is in flight, and none once confirmed', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const a = client.subscribe('room:1');
    const b = client.subscribe('room:1');
    expect(b).toBe(a); // one subscription per channel
    expect(socket.sentOfType('subscribe')).toHaveLength(1);
    const ref = socket.sentOfType('subscribe')[0]!.ref;
    socket.receive({ type: 'subscribed', ref, channel: 'room:1', recovered: true, after: '1-0' });
    await expect(a.ready()).resolves.toMatchObject({ channel: 'room:1' });
    await expect(client.subscribe('room:1').ready()).resolves.toMatchObject({ channel: 'room:1' });
    expect(socket.sentOfType('subscribe')).toHaveLength(1);
  });
});

describe('actions', () => {
  it('resolve with the reply of the same ref, reject with its coded error', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const ok = client.action('orders.create', { sku: 1 });
    const bad = client.action('orders.cancel');
    const [a, b] = socket.sentOfType('action');
    expect(a).toMatchObject({ name: 'orders.create', data: { sku: 1 } });
    const inbox = 'inbox:sess-1';
    socket.receive({
      type: 'reply',
      channel: inbox,
      id: '1-0',
      ts: 1,
      ref: b!.ref,
      ok: false,
      error: { code: 'UNKNOWN_ACTION', message: 'no worker', retryable: false },
    });
    socket.receive({
      type: 'reply',
      channel: inbox,
      id: '2-0',
      ts: 1,
      ref: a!.ref,
      ok: true,
      data: { orderId: 42 },
    });
    await expect(ok).resolves.toEqual({ orderId: 42 });
    await expect(bad).rejects.toMatchObject({
      code: 'UNKNOWN_ACTION',
      message: 'no worker',
      retryable: false,
    });
  });

  it('reject with the gateway’s error frame for the ref (e.g. an older gateway without actions)', async () => {
    newClient();
    const socket = await connectAndWelcome();
    const pending = client.action('x');
    const ref = socket.sentOfType('action')[0]!.ref as string;
    socket.receive({
      type: 'error',
      ref,
      code: 'UNKNOWN_FRAME_TYPE',
      category: 'client',
      message: 'm',
      recovery: 'r',
      retryable: false,
      correlationId: 'c',
    });
    await expect(pending).rejects.toMatchObject({ code: 'UNKNOWN_FRAME_TYPE', ref, correlationId: 'c' });
  });
});

describe('errors and retries', () => {
  it('a non-retryable close (4001) → failed with the registry’s recovery, and no new socket', async () => {
    newClient();
    const failures: StateChange[] = [];
    client.on('state', (s) => s.newState === 'failed' && failures.push(s));
    const queued = client.publish('room:1', 1).catch((error: unknown) => error);
    client.connect();
    await settle();
    const socket = FakeWebSocket.last;
    socket.open();
    socket.receive({
      type: 'error',
      code: 'AUTH_INVALID_TOKEN',
      category: 'connection',
      message: 'bad token',
      recovery: 'get a new token',
      retryable: false,
      correlationId: 'c',
    });
    socket.drop(4001, 'AUTH_INVALID_TOKEN');
    await settle();
    expect(client.state).toBe('failed');
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(failures[0]?.error).toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      closeCode: 4001,
      recovery: 'get a new token',
    });
    expect(await queued).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    await expect(client.publish('room:1', 2)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
  });

  it('calls getToken() before every connect', async () => {
    let calls = 0;
    newClient({ token: undefined, getToken: async () => `t${++calls}` });
    const first = await connectAndWelcome();
    expect(first.sent[0]).toMatchObject({ token: 't1' });
    first.drop(4002, 'AUTH_TOKEN_EXPIRED');
    await settle();
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.sent[0]).toMatchObject({ token: 't2' });
  });

  it('sends the token fetched for this connection, never one a slower, abandoned attempt fetched', async () => {
    const fetches: ((token: string) => void)[] = [];
    newClient({ token: undefined, getToken: () => new Promise<string>((resolve) => fetches.push(resolve)) });
    client.connect(); // attempt 1 asks for a token…
    await settle();
    client.disconnect(); // …and is abandoned before it arrives
    client.connect(); // attempt 2 asks again
    await settle();
    expect(fetches).toHaveLength(2);
    fetches[1]!('fresh');
    await settle();
    fetches[0]!('stale'); // attempt 1's answer lands last
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(1); // attempt 1 opened nothing
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.sent[0]).toMatchObject({ type: 'hello', token: 'fresh' });
  });

  it('waits as long as the gateway said; a bare 1013 waits the registry default, jittered upwards', async () => {
    const waits: (number | undefined)[] = [];
    newClient({ random: () => 0.999_999 });
    client.on('state', (s) => s.newState === 'reconnecting' && waits.push(s.retryInMs));
    const socket = await connectAndWelcome();
    socket.receive({
      type: 'error',
      code: 'SERVER_BUSY',
      category: 'system',
      message: 'busy',
      recovery: 'later',
      retryable: true,
      retryAfterMs: 2000,
      correlationId: 'c',
    });
    socket.drop(1013, 'SERVER_BUSY');
    client.connect(); // retry now
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(welcome());
    FakeWebSocket.last.drop(1013); // a proxy: no frame, no reason
    expect(waits).toEqual([2000, 2400]); // SERVER_BUSY's default is 2000 ms; +20 % at most
  });

  it('reports RECONNECT_EXHAUSTED after maxReconnectAttempts', async () => {
    newClient({ maxReconnectAttempts: 2 });
    client.connect();
    for (let i = 0; i < 3; i++) {
      await settle();
      FakeWebSocket.last.drop(1006);
    }
    await settle();
    expect(client.state).toBe('failed');
    expect(FakeWebSocket.instances).toHaveLength(3);
    const error = (await client.ready().catch((e: unknown) => e)) as TetherClientError;
    expect(error).toMatchObject({ code: 'RECONNECT_EXHAUSTED', retryable: false });
    // Sockets refused before they opened: the gateway is unreachable, and the error says so.
    expect(error.cause).toMatchObject({ code: 'GATEWAY_UNREACHABLE', closeCode: 1006 });
  });
});
