/**
 * In-band token refresh (issue 16 item 5) between the SDK and a real gateway (real uWS
 * socket, real Redis, HS256 tokens):
 * - tokens that live ~3 s are refreshed on the same socket, again and again: the socket
 *   stays open well past the first token's `exp` — no 4002 close, no reconnect, events flow;
 * - a refreshed token whose `channels` claim no longer covers a channel: that subscription fails
 *   (FORBIDDEN_CHANNEL), the others go on;
 * - getToken() throwing a non-retryable TetherClientError during a refresh (the app's "logged out")
 *   is emitted on `error` at once, on the connection still open, not at the token's `exp`;
 * - a refresh the gateway refuses (a token for another user: AUTH_REFRESH_REJECTED, 4004) is
 *   reported once, and the SDK reconnects with a new token from getToken() and resumes the
 *   same session.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChannelEvent, TetherClient, TetherClientError } from '../../packages/client/src/index.ts';
import { countingWebSocket } from '../support/counting-websocket.ts';
import { eventually } from '../support/events.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.stop());

function watchedClient(getToken: () => Promise<string>) {
  const { counter, Counted } = countingWebSocket();
  const client = new TetherClient({ url: gw.url, WebSocket: Counted, getToken, backoffBaseMs: 100 });
  const states: string[] = [];
  const errors: TetherClientError[] = [];
  client.on('state', ({ newState }) => states.push(newState));
  client.on('error', (e) => errors.push(e));
  return { client, counter, states, errors };
}

const expiryOf = (token: string) => (decodeJwt(token).exp ?? 0) * 1000;

describe('the SDK refreshes its token in band', () => {
  it('keeps the same socket open past exp, token after token, with events flowing', async () => {
    const issued: string[] = [];
    const { client, counter, states, errors } = watchedClient(async () => {
      const token = await mintToken({ sub: 'refresher', expiresIn: '3s' });
      issued.push(token);
      return token;
    });
    client.connect();
    const channel = `refresh:${randomUUID().slice(0, 8)}`;
    const room = client.subscribe(channel);
    const got: ChannelEvent[] = [];
    room.on('publication', (e) => got.push(e));
    await room.ready();
    const firstExpiry = expiryOf(issued[0]!);

    // Three refreshes, and well past the first token's expiry (the gateway closes at exp + 0).
    await eventually(
      () => issued.length >= 4 && Date.now() > firstExpiry + 1500,
      'three refreshes and the first exp long gone',
      15_000,
    );
    expect(expiryOf(issued.at(-1)!)).toBeGreaterThan(firstExpiry);
    const ack = await client.publish(channel, { after: 'exp' }); // the same socket still carries frames
    const viaHttp = await publishHttp(gw.http, channel, { from: 'backend' });
    await eventually(() => got.length === 2, 'both events');
    expect(got.map((e) => e.id)).toEqual([ack.id, viaHttp]);

    expect(counter.opened).toBe(1); // no reconnect
    expect(states).toEqual(['connecting', 'connected']);
    expect(errors).toEqual([]); // no AUTH_TOKEN_EXPIRED (4002), nothing
    expect(client.stats().tokenExpiresAt).toBeGreaterThan(Date.now());
    client.disconnect();
  }, 30_000);

  it('a channel the new token no longer allows ends its subscription; the others stay on the same socket', async () => {
    let calls = 0;
    const { client, counter, errors } = watchedClient(() => {
      calls++;
      return calls === 1
        ? mintToken({ sub: 'narrowed', expiresIn: '3s' })
        : mintToken({ sub: 'narrowed', channels: ['room:*'] });
    });
    client.connect();
    const suffix = randomUUID().slice(0, 8);
    const secret = client.subscribe(`secret:${suffix}`);
    const room = client.subscribe(`room:${suffix}`);
    await Promise.all([secret.ready(), room.ready()]);
    const got: string[] = [];
    room.on('publication', (e) => got.push(e.id));

    await eventually(() => secret.state === 'failed', 'the secret channel dropped on refresh', 15_000);
    expect(secret.lastError).toMatchObject({
      code: 'FORBIDDEN_CHANNEL',
      detail: `dropped secret:${suffix} on refresh`,
    });
    expect(errors.map((e) => e.code)).toEqual(['FORBIDDEN_CHANNEL']);
    const id = await publishHttp(gw.http, `room:${suffix}`, { still: 'here' });
    await eventually(() => got.length === 1, 'an event on the channel the token still allows');
    expect(got).toEqual([id]);
    expect(room.state).toBe('subscribed');
    expect(counter.opened).toBe(1);
    client.disconnect();
  }, 30_000);

  it('getToken()’s non-retryable verdict during a refresh ("logged out") is emitted at once, not at exp', async () => {
    let calls = 0;
    const { client, counter } = watchedClient(async () => {
      if (++calls === 1) return mintToken({ sub: 'leaver', expiresIn: '3s' });
      throw new TetherClientError('AUTH_INVALID_TOKEN', { detail: 'logged out' });
    });
    const told: { code: string; detail?: string; state: string; sockets: number }[] = [];
    client.on('error', ({ code, detail }) =>
      told.push({ code, detail, state: client.state, sockets: counter.opened }),
    );
    client.connect();
    await eventually(() => told.length > 0, 'an error', 15_000);
    // Told on the connection it happened on, before the gateway closes it at exp (4002).
    expect(told[0]).toEqual({
      code: 'AUTH_INVALID_TOKEN',
      detail: 'logged out',
      state: 'connected',
      sockets: 1,
    });
    expect(calls).toBe(2);
    client.disconnect();
  }, 30_000);

  it('a refused refresh (4004) is reported once; the SDK reconnects with a new token and resumes', async () => {
    const tokens = [
      () => mintToken({ sub: 'keeper', expiresIn: '3s' }),
      () => mintToken({ sub: 'mallory' }), // the refresh: another user's token
    ];
    let calls = 0;
    const { client, counter, states, errors } = watchedClient(() => {
      calls++;
      return (tokens.shift() ?? (() => mintToken({ sub: 'keeper' })))();
    });
    client.connect();
    const channel = `refused:${randomUUID().slice(0, 8)}`;
    const room = client.subscribe(channel);
    await room.ready();
    const sessionId = client.sessionId;

    await eventually(() => states.length >= 5, 'the reconnect after the refusal', 15_000);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
    expect(errors.map((e) => [e.code, e.closeCode, e.retryable])).toEqual([
      ['AUTH_REFRESH_REJECTED', 4004, false],
    ]);
    expect(errors[0]!.detail).toMatch(/another user/);
    expect(errors[0]!.recovery).toMatch(/reconnect and resume/);
    expect(calls).toBe(3); // connect, refresh, reconnect
    expect(counter.opened).toBe(2);
    expect(client.sessionId).toBe(sessionId); // resumed, not a new session
    const got: string[] = [];
    room.on('publication', (e) => got.push(e.id));
    const id = await publishHttp(gw.http, channel, { after: 'refusal' });
    await eventually(() => got.length === 1, 'an event on the resumed subscription');
    expect(got).toEqual([id]);
    client.disconnect();
  }, 30_000);
});
