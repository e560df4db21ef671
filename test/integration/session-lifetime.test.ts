/**
 * How long a connection lives (issue 10): a token must expire (AUTH_REQUIRE_EXP),
 * a token that expires mid-session ends the transport with 4002 and the session
 * resumes with a fresh one losing nothing, and a peer that falls silent is
 * dropped by the heartbeat while its session stays resumable. All but the heartbeat run over
 * both transports (WebSocket and the SSE fallback, issue 17).
 */
import { randomUUID } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany, settle } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_SECRET, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  cleanups.push(() => gw.stop());
  return gw;
}

/** A token signed with the test secret, expiring at `exp` (s since the epoch) or never. */
function tokenFor(sub: string, exp?: number): Promise<string> {
  const jwt = new SignJWT({ channels: ['*'], publish: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub);
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(TEST_SECRET));
}

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  describe('AUTH_REQUIRE_EXP', () => {
    it('true: a token without exp is AUTH_INVALID_TOKEN, and the detail says why', async () => {
      const gw = await gateway({ AUTH_REQUIRE_EXP: 'true' });
      const client = await TestClient.connect(endpoint(gw, transport));
      cleanups.push(() => client.drop());
      client.send({ type: 'hello', token: await tokenFor('forever') });
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({ code: 'AUTH_INVALID_TOKEN', retryable: false });
      expect(error.detail).toContain('no exp claim');
      expect((await client.waitClosed()).code).toBe(4001);
    });

    it('an exp that is not a number is AUTH_INVALID_TOKEN saying so, whatever AUTH_REQUIRE_EXP is', async () => {
      const gw = await gateway();
      const token = await new SignJWT({ exp: 'tomorrow' } as unknown as JWTPayload)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('malformed')
        .sign(new TextEncoder().encode(TEST_SECRET));
      const client = await TestClient.connect(endpoint(gw, transport));
      cleanups.push(() => client.drop());
      client.send({ type: 'hello', token });
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      expect(error.detail).toMatch(/"exp" claim must be a number/);
      expect(error.detail).not.toMatch(/AUTH_REQUIRE_EXP/);
    });

    it('false (outside production, by default): the same token is accepted', async () => {
      const gw = await gateway();
      const { client, welcome } = await TestClient.session(endpoint(gw, transport), {
        token: await tokenFor('forever'),
      });
      cleanups.push(() => client.drop());
      expect(welcome.userId).toBe('forever');
    });
  });

  describe('a token that expires mid-session', () => {
    it('closes the transport with AUTH_TOKEN_EXPIRED (4002); a resume with a fresh token loses nothing', async () => {
      const gw = await gateway();
      const channel = `expiring:${randomUUID().slice(0, 8)}`;
      const exp = Math.floor(Date.now() / 1000) + 2;
      const { client, welcome } = await TestClient.session(endpoint(gw, transport), {
        token: await tokenFor('brief', exp),
      });
      cleanups.push(() => client.drop());
      client.send({ type: 'subscribe', channel, ref: 's' });
      await client.next((f) => f.type === 'subscribed');
      const before = await publishMany(gw.http, channel, 3);
      await client.waitForEvents(3);

      const error = (await client.next((f) => f.type === 'error', 5000)) as ErrorFrame;
      expect(error).toMatchObject({ code: 'AUTH_TOKEN_EXPIRED', retryable: true });
      expect((await client.waitClosed()).code).toBe(4002);
      const during = await publishMany(gw.http, channel, 3);

      const back = await TestClient.session(endpoint(gw, transport), {
        token: await mintToken({ sub: 'brief' }),
        resume: {
          sessionId: welcome.sessionId,
          resumeToken: welcome.resumeToken,
          lastEventIds: { [channel]: before[2] },
        },
      });
      cleanups.push(() => back.client.drop());
      expect(back.welcome).toMatchObject({ resumed: true, recovered: true } satisfies Partial<WelcomeFrame>);
      await back.client.waitForEvents(3, channel);
      await settle(back.client);
      expect(ids(back.client.events(channel))).toEqual(during);
    });
  });

  describe('in-band token refresh', () => {
    it('a refresh before exp keeps the same socket open past it, on the new token', async () => {
      const gw = await gateway();
      const exp = Math.floor(Date.now() / 1000) + 2;
      const { client, welcome } = await TestClient.session(endpoint(gw, transport), {
        token: await tokenFor('renewed', exp),
      });
      cleanups.push(() => client.drop());
      expect(welcome.tokenExpiresAt).toBe(exp * 1000);
      const later = Math.floor(Date.now() / 1000) + 3600;
      client.send({ type: 'refresh', ref: 'r1', token: await tokenFor('renewed', later) });
      expect(await client.next((f) => f.type === 'refreshed' && f.ref === 'r1')).toMatchObject({
        tokenExpiresAt: later * 1000,
      });
      await eventually(() => Date.now() > exp * 1000 + 1000, 'the first token to have expired', 5000);
      await settle(client); // a round trip on the same socket, past the first token's exp
      expect(client.closed).toBeUndefined();
      expect(client.frames.some((f) => f.type === 'error')).toBe(false);
    });

    it('a token for another user is refused: AUTH_REFRESH_REJECTED (4004), and the session resumes', async () => {
      const gw = await gateway();
      const { client, welcome } = await TestClient.session(endpoint(gw, transport), {
        token: await mintToken({ sub: 'owner' }),
      });
      cleanups.push(() => client.drop());
      client.send({ type: 'refresh', ref: 'r2', token: await mintToken({ sub: 'intruder' }) });
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({ code: 'AUTH_REFRESH_REJECTED', ref: 'r2', retryable: false });
      expect(error.detail).toContain('another user');
      expect((await client.waitClosed()).code).toBe(4004);
      const back = await TestClient.session(endpoint(gw, transport), {
        token: await mintToken({ sub: 'owner' }),
        resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
      });
      cleanups.push(() => back.client.drop());
      expect(back.welcome.resumed).toBe(true);
    });

    it('channels the new token no longer allows are dropped with FORBIDDEN_CHANNEL', async () => {
      const gw = await gateway();
      const { client } = await TestClient.session(endpoint(gw, transport), {
        token: await mintToken({ sub: 'narrowed', channels: ['a:*', 'b:*'] }),
      });
      cleanups.push(() => client.drop());
      for (const channel of ['a:1', 'b:1']) {
        client.send({ type: 'subscribe', channel, ref: channel });
        await client.next((f) => f.type === 'subscribed' && f.ref === channel);
      }
      client.send({
        type: 'refresh',
        ref: 'r3',
        token: await mintToken({ sub: 'narrowed', channels: ['a:*'] }),
      });
      await client.next((f) => f.type === 'refreshed');
      expect(client.frames.find((f) => f.type === 'error')).toMatchObject({
        code: 'FORBIDDEN_CHANNEL',
        detail: 'dropped b:1 on refresh',
      });
      const [onA] = await publishMany(gw.http, 'a:1', 1);
      await publishMany(gw.http, 'b:1', 1);
      await client.waitForEvents(1, 'a:1');
      await settle(client);
      expect(ids(client.events())).toEqual([onA]);
    });
  });
});

// WebSocket pings; the SSE fallback has none, and its idle drop is in sse-transport.test.ts.
describe('the heartbeat', () => {
  it('drops a peer that stops answering pings; its session stays resumable', async () => {
    // 8 s: pinged after 4 s of silence, dropped 4 s later (src/edge/uws.ts heartbeatTiming).
    const gw = await gateway({ HEARTBEAT_IDLE_TIMEOUT_S: '8' });
    const token = await mintToken({ sub: 'silent' });
    const ws = new WebSocket(gw.url, { autoPong: false });
    cleanups.push(() => ws.terminate());
    const frames: { type: string }[] = [];
    let pinged = false;
    let closedAt: number | undefined;
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    ws.on('ping', () => {
      pinged = true;
    });
    ws.on('close', () => {
      closedAt = Date.now();
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', token }));
    const welcome = (await eventually(
      () => frames.find((f) => f.type === 'welcome'),
      'welcome',
    )) as WelcomeFrame;
    await eventually(() => closedAt, 'the gateway to drop the silent peer', 15_000);
    expect(pinged).toBe(true); // dropped by the heartbeat: pinged first, then cut for no pong

    const back = await TestClient.session(gw.url, {
      token,
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken },
    });
    cleanups.push(() => back.client.drop());
    expect(back.welcome.resumed).toBe(true);
  }, 30_000);
});
