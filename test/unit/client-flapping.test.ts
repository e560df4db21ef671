/**
 * A connection that drops right after every `welcome` (a proxy cutting each socket, a gateway
 * that fails each resumed session) must back off like a gateway that is down, not come back
 * every 250–500 ms for ever: the backoff starts over only once a connection has lasted.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { clientMachine, type GatewayReadiness } from '../../machines/client.machine.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function start() {
  const actor = createActor(
    clientMachine.provide({
      actors: {
        fetchToken: fromPromise(async (): Promise<string | undefined> => 'jwt'),
        probeGateway: fromPromise(async (): Promise<GatewayReadiness> => 'ready'),
      },
    }),
    { input: { random: () => 0.5, pingIntervalMs: 20_000 } },
  );
  return actor.start();
}

const lost = { type: 'socket.closed', failure: { code: 'CONNECTION_LOST', retryable: true } } as const;

/** Wait out the planned delay until the socket opens, be welcomed, stay `upMs`, drop: the next delay. */
async function connectionLasting(actor: ReturnType<typeof start>, upMs: number): Promise<number> {
  await vi.advanceTimersByTimeAsync(actor.getSnapshot().context.retryDelayMs);
  expect(actor.getSnapshot().value).toEqual({ connecting: 'opening' });
  actor.send({ type: 'socket.welcomed', sessionId: 's-1' });
  await vi.advanceTimersByTimeAsync(upMs);
  actor.send(lost);
  return actor.getSnapshot().context.retryDelayMs;
}

it('welcomed and dropped at once, again and again: the delays grow to backoffMaxMs', async () => {
  const actor = start();
  actor.send({ type: 'client.connect' });
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) delays.push(await connectionLasting(actor, 50));
  expect(delays).toEqual([375, 750, 1500, 3000, 6000, 12_000, 22_500, 22_500, 22_500]);
  expect(actor.getSnapshot().context.attempt).toBe(1); // each welcome still counts as a success
  actor.stop();
});

it('a connection that lasted a heartbeat interval starts the backoff over', async () => {
  const actor = start();
  actor.send({ type: 'client.connect' });
  for (let i = 0; i < 5; i++) await connectionLasting(actor, 50);
  expect(await connectionLasting(actor, 20_000)).toBe(375);
  actor.stop();
});
