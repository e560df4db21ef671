/**
 * What the SDK refuses itself, whenever the call is made — before any `welcome`, while
 * connecting, or connected — against a scripted gateway (FakeWebSocket): data that is not
 * JSON, a channel that is not a channel name, a frame over the gateway's limit (measured
 * when a queued one is about to go out, once `welcome` said the limit), and a subscription
 * whose first ask went with its socket: it starts later than asked, and says so.
 */
import { describe, expect, it } from 'vitest';
import type { TetherClientError } from '../../packages/client/src/index.ts';
import {
  connectAndWelcome,
  FakeWebSocket,
  scriptedClientPerTest,
  settle,
  welcomeFrame,
} from '../support/fake-websocket.ts';

const client = scriptedClientPerTest();

const cyclic = (): object => {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
};

describe('requests the SDK refuses itself', () => {
  it('data that is not JSON throws at the call, before or after welcome, and nothing is queued', async () => {
    expect(() => client().publish('room:1', { n: 1n })).toThrow(TypeError);
    expect(() => client().action('do', cyclic())).toThrow(TypeError);
    expect(client().stats().queued).toBe(0);
    const queued = client().publish('room:1', { ok: true });
    const socket = await connectAndWelcome(client());
    expect(socket.sentOfType('publish')).toHaveLength(1); // the good one went out, the client lives
    socket.receive({ type: 'ack', ref: socket.sentOfType('publish')[0]?.ref, channel: 'room:1', id: '1-0' });
    await expect(queued).resolves.toMatchObject({ id: '1-0' });
    expect(() => client().publish('room:1', 2n)).toThrow(TypeError);
    expect(client().state).toBe('connected');
  });

  it('a channel that is not a channel name throws at publish, as at subscribe and history', () => {
    for (const bad of ['room 1', '', 'a'.repeat(300)])
      expect(() => client().publish(bad, 1)).toThrow(TypeError);
  });

  it('a publish queued before welcome and over the limit welcome gives is refused there, not sent to be cut', async () => {
    const big = client().publish('room:1', 'x'.repeat(2000));
    const small = client().publish('room:1', 'ok');
    const socket = await connectAndWelcome(client(), welcomeFrame({ maxMessageBytes: 1024 }));
    await expect(big).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    } satisfies Partial<TetherClientError>);
    const sent = socket.sentOfType('publish');
    expect(sent.map((f) => f.data)).toEqual(['ok']);
    socket.receive({ type: 'ack', ref: sent[0]?.ref, channel: 'room:1', id: '1-0' });
    await expect(small).resolves.toMatchObject({ id: '1-0' });
    expect(client().state).toBe('connected');
  });
});

describe('a subscription whose first ask went with its socket', () => {
  it('is asked again, and its confirmation says recovered:false: events in between may be missed', async () => {
    const room = client().subscribe('room:1');
    const told: unknown[] = [];
    room.on('recovered', (r) => told.push(r));
    const first = await connectAndWelcome(client());
    expect(first.sentOfType('subscribe')).toHaveLength(1);
    first.drop(1006); // before its `subscribed`
    await settle();
    const second = FakeWebSocket.last;
    second.open();
    second.receive(welcomeFrame({ resumed: true, channels: [] }));
    const ask = second.sentOfType('subscribe')[0];
    expect(ask).toMatchObject({ channel: 'room:1' });
    expect(ask).not.toHaveProperty('from');
    second.receive({ type: 'subscribed', ref: ask?.ref, channel: 'room:1', recovered: true, after: '9-0' });
    expect(told).toEqual([{ recovered: false, after: '9-0', resumed: false }]);
    expect(room.state).toBe('subscribed');
  });

  it('one the session kept (resumed in welcome) is not a gap', async () => {
    const room = client().subscribe('room:1');
    const told: { recovered: boolean }[] = [];
    room.on('recovered', (r) => told.push(r));
    const first = await connectAndWelcome(client());
    first.drop(1006);
    await settle();
    const second = FakeWebSocket.last;
    second.open();
    second.receive(
      welcomeFrame({
        resumed: true,
        channels: [{ channel: 'room:1', recovered: true, after: '3-0', epoch: 'e1' }],
      }),
    );
    second.receive({ type: 'subscribed', channel: 'room:1', recovered: true, after: '3-0' });
    expect(told.map((r) => r.recovered)).toEqual([true]);
  });
});

describe('stats()', () => {
  it('keeps a channel named __proto__ as an ordinary key', () => {
    client().subscribe('__proto__');
    expect(Object.keys(client().stats().subscriptions)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(client().stats())).subscriptions).toHaveProperty(['__proto__']);
  });
});

describe('the ack of a publish to an ephemeral channel', () => {
  it('says ephemeral, as the gateway does: nothing was stored', async () => {
    const socket = await connectAndWelcome(client());
    const ack = client().publish('typing:1', { on: true });
    const ref = socket.sentOfType('publish')[0]?.ref;
    socket.receive({ type: 'ack', ref, channel: 'typing:1', id: '', ephemeral: true });
    await expect(ack).resolves.toEqual({ channel: 'typing:1', id: '', ephemeral: true });
  });
});
