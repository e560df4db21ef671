/**
 * In-band token refresh in the SDK runtime, against a scripted gateway (FakeWebSocket):
 * the `refresh` frame goes out on the same socket with what getToken() gives, timed by the
 * gateway's clock (a client clock an hour behind does not wait an hour too long), `refreshed`
 * plans the next; a refusal (AUTH_REFRESH_REJECTED, 4004) is reported with the registry's
 * recovery and followed by one reconnect with a new token; a channel the new token no longer
 * allows ends its subscription; a fixed token is never "refreshed" with itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherClient, type TetherClientError } from '../../packages/client/src/index.ts';
import {
  connectAndWelcome as connectTo,
  errorFrame,
  FakeWebSocket,
  SCRIPTED_CLIENT,
  settle,
  welcomeFrame as welcome,
} from '../support/fake-websocket.ts';

let client: TetherClient;
const HOUR = 3_600_000;

function newClient(options: Partial<ConstructorParameters<typeof TetherClient>[0]> = {}) {
  let issued = 0;
  const tokens: string[] = [];
  client = new TetherClient({
    ...SCRIPTED_CLIENT,
    getToken: () => {
      issued++;
      tokens.push(`jwt-${issued}`);
      return `jwt-${issued}`;
    },
    ...options,
  });
  return { tokens };
}

/** Resolves with the first frame of `type` the socket sends (polls; bounded). */
async function sentFrame(socket: FakeWebSocket, type: string, index = 0, withinMs = 2000) {
  const started = Date.now();
  while (socket.sentOfType(type).length <= index) {
    if (Date.now() - started > withinMs) throw new Error(`no ${type} #${index} within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return socket.sentOfType(type)[index]!;
}

/** Connected on a token that expires in `tokenExpiresInMs`, by a gateway clock `serverAheadMs` ahead. */
function connectAndWelcome(tokenExpiresInMs: number, serverAheadMs = 0): Promise<FakeWebSocket> {
  const serverTime = Date.now() + serverAheadMs;
  return connectTo(client, welcome({ serverTime, tokenExpiresAt: serverTime + tokenExpiresInMs }));
}

beforeEach(() => FakeWebSocket.reset());
afterEach(() => client?.disconnect());

describe('in-band refresh on the same socket', () => {
  it('sends getToken()’s new token before exp — by the gateway’s clock — and again after `refreshed`', async () => {
    const { tokens } = newClient();
    const states: string[] = [];
    client.on('state', ({ newState }) => states.push(newState));
    // The gateway's clock is an hour ahead: `tokenExpiresAt` read on this clock would be 1 h away.
    const socket = await connectAndWelcome(400, HOUR);
    expect(socket.sent[0]).toMatchObject({ type: 'hello', token: 'jwt-1' });
    const started = Date.now();
    const first = await sentFrame(socket, 'refresh');
    expect(Date.now() - started).toBeLessThan(1000); // lead: half of the 400 ms lifetime
    expect(first).toMatchObject({ type: 'refresh', token: 'jwt-2' });
    expect(typeof first.ref).toBe('string');
    expect(client.stats().tokenExpiresAt).toBeLessThan(Date.now() + 1000);

    socket.receive({ type: 'refreshed', ref: first.ref, tokenExpiresAt: Date.now() + HOUR + 400 });
    const second = await sentFrame(socket, 'refresh', 1);
    expect(second).toMatchObject({ token: 'jwt-3' });
    expect(second.ref).not.toBe(first.ref);
    expect(tokens).toEqual(['jwt-1', 'jwt-2', 'jwt-3']);
    expect(FakeWebSocket.instances).toHaveLength(1); // no reconnect
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('a token without exp is never refreshed; nor is a fixed `token` (nothing new to send)', async () => {
    newClient();
    client.connect();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(welcome()); // no tokenExpiresAt
    client.disconnect();
    FakeWebSocket.reset();
    newClient({ getToken: undefined, token: 'fixed' });
    const socket = await connectAndWelcome(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.sentOfType('refresh')).toEqual([]);
    expect(client.detailedState).toMatchObject({ connected: { token: 'unmanaged' } });
  });
});

describe('a refused refresh (AUTH_REFRESH_REJECTED, 4004)', () => {
  it('is reported once with the registry’s recovery, and the client reconnects with a new token and resumes', async () => {
    const { tokens } = newClient();
    const errors: TetherClientError[] = [];
    const states: string[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('state', ({ newState }) => states.push(newState));
    const socket = await connectAndWelcome(300);
    const refresh = await sentFrame(socket, 'refresh');
    socket.receive(
      errorFrame('AUTH_REFRESH_REJECTED', {
        ref: refresh.ref as string,
        recovery: 'Get a valid token for the same user, then reconnect and resume; the session is kept.',
        detail: 'the token is for another user',
      }),
    );
    socket.drop(4004, 'AUTH_REFRESH_REJECTED');
    expect(states).toEqual(['connecting', 'connected', 'reconnecting']);
    expect(errors.map((e) => [e.code, e.closeCode, e.detail])).toEqual([
      ['AUTH_REFRESH_REJECTED', 4004, 'the token is for another user'],
    ]);
    expect(errors[0]!.recovery).toMatch(/reconnect and resume/);
    await settle();
    const next = FakeWebSocket.last;
    expect(next).not.toBe(socket);
    next.open();
    expect(next.sent[0]).toMatchObject({
      type: 'hello',
      token: tokens.at(-1),
      resume: { sessionId: 'sess-1', resumeToken: 'rt-1' },
    });
    expect(tokens).toHaveLength(3); // connect, refresh, and a new one for the reconnect
  });
});

describe('a channel the refreshed token no longer allows', () => {
  it('ends its subscription as failed; the others go on', async () => {
    newClient();
    const socket = await connectAndWelcome(HOUR);
    const secret = client.subscribe('secret:1');
    const room = client.subscribe('room:1');
    for (const [i, channel] of ['secret:1', 'room:1'].entries()) {
      const { ref } = socket.sentOfType('subscribe')[i]!;
      socket.receive({ type: 'subscribed', ref, channel, recovered: true, after: '0-0', epoch: 'e1' });
    }
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    socket.receive(
      errorFrame('FORBIDDEN_CHANNEL', { category: 'event', detail: 'dropped secret:1 on refresh' }),
    );
    expect(secret.state).toBe('failed');
    expect(secret.lastError).toMatchObject({ code: 'FORBIDDEN_CHANNEL' });
    expect(room.state).toBe('subscribed');
    expect(errors).toEqual(['FORBIDDEN_CHANNEL']);
    expect(client.getSubscription('secret:1')).toBeUndefined();
  });
});
