/**
 * A channel unsubscribed while offline and subscribed again as soon as the client is back: the
 * SDK's own unsubscribe of the resumed channel must not be taken, when the gateway answers it, for
 * the backend's server-side unsubscribe (a ref-less `unsubscribed`) ending the new subscription.
 */
import { expect, it } from 'vitest';
import {
  connectAndWelcome,
  FakeWebSocket,
  scriptedClientPerTest,
  settle,
  welcomeFrame,
} from '../support/fake-websocket.ts';

const client = scriptedClientPerTest();

it('a subscription made right after the resume survives the answer to the resumed channel’s unsubscribe', async () => {
  const first = client().subscribe('room:1');
  const socket = await connectAndWelcome(client());
  const ask = socket.sentOfType('subscribe')[0];
  socket.receive({ type: 'subscribed', ref: ask?.ref, channel: 'room:1', recovered: true, after: '1-0' });
  socket.drop(1006);
  await settle();
  first.unsubscribe(); // offline: the session still holds room:1

  const next = FakeWebSocket.last;
  next.open();
  next.receive(
    welcomeFrame({
      resumed: true,
      channels: [{ channel: 'room:1', recovered: true, after: '1-0', epoch: 'e1' }],
    }),
  );
  const again = client().subscribe('room:1'); // e.g. from a `state: connected` listener
  const release = next.sentOfType('unsubscribe')[0];
  expect(release).toMatchObject({ channel: 'room:1' });
  const resubscribe = next.sentOfType('subscribe').at(-1);
  // The gateway answers in the order sent (docs/protocol.md §3 unsubscribe), echoing each ref.
  next.receive({ type: 'unsubscribed', channel: 'room:1', ...(release?.ref ? { ref: release.ref } : {}) });
  next.receive({
    type: 'subscribed',
    ref: resubscribe?.ref,
    channel: 'room:1',
    recovered: true,
    after: '1-0',
  });
  expect(again.lastError?.code).toBeUndefined();
  expect(again.state).toBe('subscribed');
  const got: unknown[] = [];
  again.on('publication', (p) => got.push(p.data));
  next.receive({ type: 'event', channel: 'room:1', id: '2-0', ts: 2, data: 'after' });
  expect(got).toEqual(['after']);
});
