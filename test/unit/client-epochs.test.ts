/**
 * Epochs in the SDK (issue 10; docs/protocol.md §5 "Epochs", §6.2, §7), against a scripted
 * gateway (FakeWebSocket): the SDK keeps `{ id, epoch }` per channel and sends the epoch
 * with every position (resume and re-subscribe); when the gateway says the history is gone
 * — `recovered: false`, or an epoch other than the one held — it takes `after`/`epoch` as
 * its position and forgets what it saw, so the new history's events are delivered even when
 * their IDs are lower; and it announces the gap once per channel, on the subscription and
 * on the client.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChannelEvent,
  type RecoveredNotice,
  type SubscriptionRecovered,
  TetherClient,
} from '../../packages/client/src/index.ts';
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

function newClient(): TetherClient {
  client = new TetherClient({ ...SCRIPTED_CLIENT, token: 'tok' });
  return client;
}

const connectAndWelcome = (frame?: WelcomeFrame) => connectTo(client, frame);

/** Drop the socket and open the next one (the SDK reconnects at once with random 0). */
async function reconnect(from: FakeWebSocket): Promise<FakeWebSocket> {
  from.drop(1006);
  await settle();
  const next = FakeWebSocket.last;
  expect(next).not.toBe(from);
  next.open();
  return next;
}

const event = (channel: string, id: string) => ({ type: 'event', channel, id, ts: 1, data: { id } });

/** A subscription to `channel` in epoch `e1`, confirmed, that has seen `ids`. */
async function subscribedAndSeen(socket: FakeWebSocket, channel: string, ids: string[]) {
  const subscription = client.subscribe(channel);
  const { ref } = socket.sentOfType('subscribe').at(-1)!;
  socket.receive({ type: 'subscribed', ref, channel, recovered: true, after: '0-0', epoch: 'e1' });
  for (const id of ids) socket.receive(event(channel, id));
  const publications: string[] = [];
  const notices: SubscriptionRecovered[] = [];
  subscription.on('publication', (e: ChannelEvent) => publications.push(e.id));
  subscription.on('recovered', (r) => notices.push(r));
  return { subscription, publications, notices };
}

beforeEach(() => FakeWebSocket.reset());
afterEach(() => client?.disconnect());

describe('a resume answered with a new epoch', () => {
  it('sends the epochs it holds, reports the gap once, and delivers the new history’s lower IDs', async () => {
    newClient();
    const global: RecoveredNotice[] = [];
    client.on('recovered', (n) => global.push(n));
    const first = await connectAndWelcome();
    const room = await subscribedAndSeen(first, 'room:1', ['1718000000100-0', '1718000000200-0']);
    expect(room.subscription.position).toEqual({ id: '1718000000200-0', epoch: 'e1' });

    const second = await reconnect(first);
    expect(second.sent[0]).toMatchObject({
      type: 'hello',
      resume: {
        lastEventIds: { 'room:1': '1718000000200-0' },
        epochs: { 'room:1': 'e1' },
      },
    });
    // Redis lost the log; the new one's clock is behind: its IDs are below the old position.
    second.receive(
      welcome({
        resumed: true,
        recovered: false,
        channels: [{ channel: 'room:1', recovered: false, after: '0-0', epoch: 'e2' }],
      }),
    );
    second.receive({ type: 'subscribed', channel: 'room:1', recovered: false, after: '0-0', epoch: 'e2' });
    for (const id of ['1717000000000-0', '1717000000000-1', '1717000000000-1'])
      second.receive(event('room:1', id));

    expect(room.publications).toEqual(['1717000000000-0', '1717000000000-1']); // once each, none dropped
    expect(room.notices).toEqual([{ recovered: false, after: '0-0', epoch: 'e2', resumed: true }]);
    expect(global).toEqual([
      {
        resumed: true,
        recovered: false,
        channels: [{ channel: 'room:1', recovered: false, after: '0-0', epoch: 'e2' }],
      },
    ]);
    expect(room.subscription.position).toEqual({ id: '1717000000000-1', epoch: 'e2' });
    expect(client.positions.resets).toBe(1);

    // The next resume carries the new history's position.
    const third = await reconnect(second);
    expect(third.sent[0]).toMatchObject({
      resume: { lastEventIds: { 'room:1': '1717000000000-1' }, epochs: { 'room:1': 'e2' } },
    });
  });

  it('a channel that kept its epoch and recovered keeps its position and its duplicate filter', async () => {
    newClient();
    const first = await connectAndWelcome();
    const room = await subscribedAndSeen(first, 'room:1', ['5-0', '6-0']);
    const second = await reconnect(first);
    second.receive(
      welcome({
        resumed: true,
        channels: [{ channel: 'room:1', recovered: true, after: '6-0', epoch: 'e1' }],
      }),
    );
    second.receive({ type: 'subscribed', channel: 'room:1', recovered: true, after: '6-0', epoch: 'e1' });
    for (const id of ['5-0', '6-0', '7-0']) second.receive(event('room:1', id));
    expect(room.publications).toEqual(['7-0']);
    expect(room.notices).toEqual([{ recovered: true, after: '6-0', epoch: 'e1', resumed: true }]);
    expect(client.positions.resets).toBe(0);
  });

  it('an epoch other than the one held is a gap even if the frame says recovered', async () => {
    newClient();
    const first = await connectAndWelcome();
    const room = await subscribedAndSeen(first, 'room:1', ['9-0']);
    const second = await reconnect(first);
    second.receive(
      welcome({
        resumed: true,
        channels: [{ channel: 'room:1', recovered: true, after: '2-0', epoch: 'e9' }],
      }),
    );
    second.receive(event('room:1', '3-0'));
    expect(room.notices).toEqual([{ recovered: false, after: '2-0', epoch: 'e9', resumed: true }]);
    expect(room.publications).toEqual(['3-0']);
  });

  it('the same epoch with IDs gone backwards (a replica behind): restarts at `after`, lower IDs delivered', async () => {
    newClient();
    const first = await connectAndWelcome();
    const room = await subscribedAndSeen(first, 'room:1', ['1718000000300-0']);
    const second = await reconnect(first);
    second.receive(
      welcome({
        resumed: true,
        recovered: false,
        channels: [{ channel: 'room:1', recovered: false, after: '7-18446744073709551615', epoch: 'e1' }],
      }),
    );
    second.receive(event('room:1', '8-0'));
    expect(room.publications).toEqual(['8-0']);
    expect(room.notices).toEqual([
      { recovered: false, after: '7-18446744073709551615', epoch: 'e1', resumed: true },
    ]);
  });
});

describe('a re-subscribe on a new session (the session was lost with Redis)', () => {
  it('sends from and epoch; recovered:false with a new epoch delivers the new history once', async () => {
    newClient();
    const global: RecoveredNotice[] = [];
    client.on('recovered', (n) => global.push(n));
    const first = await connectAndWelcome();
    const room = await subscribedAndSeen(first, 'room:1', ['1718000000500-0']);
    const second = await reconnect(first);
    second.receive(errorFrame('RESUME_EXPIRED'));
    second.receive(welcome({ sessionId: 'sess-2', resumeToken: 'rt-2' }));
    const resubscribe = second.sentOfType('subscribe')[0]!;
    expect(resubscribe).toMatchObject({ channel: 'room:1', from: '1718000000500-0', epoch: 'e1' });
    second.receive({
      type: 'subscribed',
      ref: resubscribe.ref,
      channel: 'room:1',
      recovered: false,
      after: '0-0',
      epoch: 'e2',
    });
    for (const id of ['1717000000001-0', '1717000000002-0']) second.receive(event('room:1', id));
    expect(room.publications).toEqual(['1717000000001-0', '1717000000002-0']);
    expect(room.notices).toEqual([{ recovered: false, after: '0-0', epoch: 'e2', resumed: false }]);
    expect(global).toEqual([
      {
        resumed: false,
        recovered: false,
        channels: [{ channel: 'room:1', recovered: false, after: '0-0', epoch: 'e2' }],
      },
    ]);
  });

  it('a subscription that saw no event yet resumes from where the gateway started it — events sent while away are not skipped', async () => {
    newClient();
    const first = await connectAndWelcome();
    const quiet = client.subscribe('room:quiet');
    const { ref } = first.sentOfType('subscribe')[0]!;
    first.receive({
      type: 'subscribed',
      ref,
      channel: 'room:quiet',
      recovered: true,
      after: '40-0',
      epoch: 'e1',
    });
    expect(quiet.position).toEqual({ id: '40-0', epoch: 'e1' });
    const second = await reconnect(first);
    second.receive(welcome({ sessionId: 'sess-2', resumeToken: 'rt-2' })); // the session was gone
    expect(second.sentOfType('subscribe')[0]).toMatchObject({ from: '40-0', epoch: 'e1' });
  });

  it('a `since` position with its epoch is sent as given', async () => {
    newClient();
    const socket = await connectAndWelcome();
    client.subscribe('room:2', { since: { id: '12-0', epoch: 'e7' } });
    expect(socket.sentOfType('subscribe')[0]).toMatchObject({ channel: 'room:2', from: '12-0', epoch: 'e7' });
  });
});

describe('channel names that are object keys', () => {
  it('`__proto__` and `toString` keep their positions and epochs in the resume', async () => {
    newClient();
    const first = await connectAndWelcome();
    await subscribedAndSeen(first, '__proto__', ['1-0']);
    await subscribedAndSeen(first, 'toString', ['2-0']);
    const second = await reconnect(first);
    const { resume } = second.sent[0] as { resume: { lastEventIds: object; epochs: object } };
    expect(Object.entries(resume.lastEventIds)).toEqual([
      ['__proto__', '1-0'],
      ['toString', '2-0'],
    ]);
    expect(Object.entries(resume.epochs)).toEqual([
      ['__proto__', 'e1'],
      ['toString', 'e1'],
    ]);
  });
});

describe('the session inbox', () => {
  it('resumes in its epoch; a new inbox history still answers the pending action', async () => {
    newClient();
    const first = await connectAndWelcome();
    const echoed = client.action('echo', { n: 1 });
    const action = first.sentOfType('action')[0]!;
    first.receive({
      type: 'subscribed',
      channel: 'inbox:sess-1',
      recovered: true,
      after: '90-0',
      epoch: 'session',
    });
    const second = await reconnect(first);
    expect(second.sent[0]).toMatchObject({
      resume: { lastEventIds: { 'inbox:sess-1': '90-0' }, epochs: { 'inbox:sess-1': 'session' } },
    });
    second.receive(
      welcome({
        resumed: true,
        channels: [{ channel: 'inbox:sess-1', recovered: false, after: '0-0', epoch: 'session' }],
      }),
    );
    second.receive({
      type: 'reply',
      channel: 'inbox:sess-1',
      id: '3-0',
      ts: 1,
      correlationId: 'corr-1',
      ref: action.ref,
      ok: true,
      data: { n: 1 },
    });
    await expect(echoed).resolves.toEqual({ n: 1 });
  });
});
