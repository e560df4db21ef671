/**
 * Control orders reach sessions on the SSE fallback as they reach WebSocket ones
 * (docs/admin.md; control.test.ts has the orders themselves): each order is given to one
 * process and takes effect on an SSE session the other holds, with the same coded end —
 * the error frame, then the stream's close code (docs/protocol.md §1.1).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedWith, controlSessions, resumeOf } from '../support/control-sessions.ts';
import { publishMany, settle, sleep } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import { call, type GatewayPair, spawnPair } from '../support/gateway-pair.ts';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/gateway-process.ts';

let pair: GatewayPair;
beforeAll(async () => {
  pair = await spawnPair({ RATE_CONNECT_PER_IP: '0', RATE_CONNECT_PER_USER: '0' });
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(() => Promise.all([pair?.a.kill(), pair?.b.kill()]));

const { hello, session } = controlSessions((gw) => gw.sseUrl);

const newUser = () => `sse-${randomUUID().slice(0, 8)}`;

describe('control orders on SSE sessions held by the other process', () => {
  it('a resumable disconnect ends the stream with 4010; the resume over SSE elsewhere loses nothing', async () => {
    const userId = newUser();
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const onB = await session(pair.b, userId);
    onB.client.send({ type: 'subscribe', channel, ref: 's' });
    await onB.client.next((f) => f.type === 'subscribed');
    const ordered = await call(`${pair.a.http}/users/${userId}/disconnect`, {
      body: { reason: 'rebalance' },
    });
    expect(ordered).toMatchObject({ status: 200, body: { sessions: [onB.welcome.sessionId] } });
    expect(await closedWith(onB.client, 'DISCONNECTED_BY_SERVER', 4010)).toMatchObject({ retryable: true });

    const during = await publishMany(pair.a.http, channel, 3);
    const back = await hello(pair.a, {
      token: await mintToken({ sub: userId }),
      resume: resumeOf(onB.welcome),
    });
    expect(back.welcome).toMatchObject({ resumed: true, recovered: true, sessionId: onB.welcome.sessionId });
    await back.client.waitForEvents(3, channel);
    expect(back.client.events(channel).map((e) => e.id)).toEqual(during);
  });

  it('a final disconnect ends the stream with 4011 and the session cannot be resumed', async () => {
    const userId = newUser();
    const live = await session(pair.b, userId);
    const ordered = await call(`${pair.a.http}/sessions/${live.welcome.sessionId}/disconnect`, {
      body: { resumable: false },
    });
    expect(ordered.status).toBe(200);
    await closedWith(live.client, 'SESSION_CLOSED_BY_SERVER', 4011);
    const again = await hello(pair.b, {
      token: await mintToken({ sub: userId }),
      resume: resumeOf(live.welcome),
    });
    expect(again.welcome).toMatchObject({ resumed: false });
    expect(again.welcome?.sessionId).not.toBe(live.welcome.sessionId);
  });

  it('a server-side subscribe reaches the stream: subscribed (server), then every event published after the answer', async () => {
    const userId = newUser();
    const channel = `news:${randomUUID().slice(0, 8)}`;
    const onB = await session(pair.b, userId, { channels: ['own:*'] });
    const ordered = await call(`${pair.a.http}/users/${userId}/subscribe`, { body: { channel } });
    expect(ordered).toMatchObject({ status: 200, body: { sessions: [onB.welcome.sessionId] } });
    const published = await publishMany(pair.a.http, channel, 4);
    expect(await onB.client.next((f) => f.type === 'subscribed' && f.channel === channel)).toMatchObject({
      server: true,
    });
    await onB.client.waitForEvents(4, channel);
    expect(onB.client.events(channel).map((e) => e.id)).toEqual(published);
  });

  it('a block ends the stream with USER_BLOCKED (4006) and refuses the next hello over SSE', async () => {
    const userId = newUser();
    const live = await session(pair.b, userId);
    expect((await call(`${pair.a.http}/users/${userId}/block`, { body: { reason: 'abuse' } })).status).toBe(
      200,
    );
    expect(await closedWith(live.client, 'USER_BLOCKED', 4006)).toMatchObject({ retryable: false });
    const refused = await hello(pair.b, { token: await mintToken({ sub: userId }) });
    expect(refused.error).toMatchObject({ code: 'USER_BLOCKED' });
    expect((await refused.client.waitClosed()).code).toBe(4006);
    await call(`${pair.a.http}/users/${userId}/unblock`, { body: {} });
  });

  it('a revocation ends a stream on an older token with AUTH_TOKEN_REVOKED (4005); one on a newer token stays', async () => {
    const userId = newUser();
    const old = await session(pair.b, userId);
    await sleep(1100 - (Date.now() % 1000)); // into the next second: iat has whole seconds
    const before = Date.now();
    await sleep(1000 - (Date.now() % 1000) + 10);
    const kept = await hello(pair.b, { token: await mintToken({ sub: userId }) });
    expect((await call(`${pair.a.http}/users/${userId}/revoke`, { body: { before } })).status).toBe(200);
    await closedWith(old.client, 'AUTH_TOKEN_REVOKED', 4005);
    await settle(kept.client);
    expect(kept.client.closed).toBeUndefined();
  });
});
