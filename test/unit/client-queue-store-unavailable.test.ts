/**
 * A queued publish the gateway answers with STORE_UNAVAILABLE (Redis down, or frozen with the
 * append maybe done) is sent again with its idempotencyKey after `retryAfterMs`, ahead of the
 * rest of the queue — not rejected with a key the application never saw, while the publishes
 * queued after it are stored before it.
 */
import { expect, it } from 'vitest';
import { connectAndWelcome, errorFrame, scriptedClientPerTest } from '../support/fake-websocket.ts';

const client = scriptedClientPerTest();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('sends the refused publish again with its key, first, and keeps the order', async () => {
  const outcomes: string[] = [];
  const acks = [1, 2, 3].map((n) =>
    client()
      .publish('room:1', { n })
      .then(
        () => outcomes.push(`ok ${n}`),
        (error) => outcomes.push(`${n} ${error.code}`),
      ),
  );
  const socket = await connectAndWelcome(client());
  const first = socket.sentOfType('publish')[0];
  socket.receive(
    errorFrame('STORE_UNAVAILABLE', {
      ref: first?.ref as string,
      category: 'system',
      retryable: true,
      retryAfterMs: 20,
      detail: 'Redis stopped answering while the event was being appended: it may still be added',
    }),
  );
  await sleep(60);
  const again = socket.sentOfType('publish')[1];
  expect(again).toEqual(first); // same ref, same idempotencyKey: stored once however it went
  for (let i = 1; i <= 3; i++) {
    const frame = socket.sentOfType('publish')[i];
    socket.receive({ type: 'ack', ref: frame?.ref, channel: 'room:1', id: `${i}-0` });
    await sleep(0);
  }
  await Promise.all(acks);
  expect(outcomes).toEqual(['ok 1', 'ok 2', 'ok 3']);
  expect(socket.sentOfType('publish').map((f) => (f.data as { n: number }).n)).toEqual([1, 1, 2, 3]);
});
