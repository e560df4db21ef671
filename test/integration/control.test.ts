/**
 * Server-side control across two gateway processes (issue 15): every order is given
 * to one process and takes effect on sessions the other holds — list a user's
 * sessions, disconnect (resumable or not), subscribe and unsubscribe server-side
 * (kept across resume), block a user, revoke tokens issued before a time — each
 * checked at hello, on resume and on live sessions, and audited in the log.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscribedFrame } from '../../src/shared/frames.ts';
import { closedWith, controlSessions, resumeOf } from '../support/control-sessions.ts';
import { eventually, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, startTestGateway } from '../support/gateway.ts';
import { ADMIN_KEY, BACKEND_KEY, call, type GatewayPair, spawnPair } from '../support/gateway-pair.ts';
import { type GatewayProcess, PROCESS_TEST_TIMEOUT_MS, spawnGateway } from '../support/gateway-process.ts';
import { TestClient } from '../support/ws-client.ts';

let pair: GatewayPair;
beforeAll(async () => {
  pair = await spawnPair({ RATE_CONNECT_PER_IP: '0', RATE_CONNECT_PER_USER: '0' });
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(() => Promise.all([pair?.a.kill(), pair?.b.kill()]));

const { hello, session, track } = controlSessions((gw) => gw.url);

const newUser = () => `user-${randomUUID().slice(0, 8)}`;

const audited = (gw: GatewayProcess, audit: string) =>
  eventually(() => gw.logs().find((line) => line.audit === audit), `an audit line ${audit}`);

describe('control orders reach sessions held by the other process', () => {
  it('lists a user’s sessions on both processes, connected or waiting to be resumed', async () => {
    const userId = newUser();
    const onA = await session(pair.a, userId);
    const onB = await session(pair.b, userId);
    onB.client.send({ type: 'subscribe', channel: 'room:list', ref: 's' });
    await onB.client.next((f) => f.type === 'subscribed');
    onA.client.drop();
    await eventually(async () => {
      const { body } = await call(`${pair.a.http}/users/${userId}/sessions`);
      const states = (body.sessions as { state: string }[]).map((s) => s.state).sort();
      return states.join() === 'connected,reconnecting';
    }, 'both sessions listed');
    const { status, body } = await call(`${pair.b.http}/users/${userId}/sessions`, { key: ADMIN_KEY });
    expect(status).toBe(200);
    expect(body).toMatchObject({ userId, blocked: null, tokensRevokedBefore: null });
    const listed = body.sessions as Record<string, unknown>[];
    expect(listed.find((s) => s.sessionId === onB.welcome.sessionId)).toMatchObject({
      state: 'connected',
      nodeId: 'gw-b',
      channels: ['room:list'],
      serverChannels: [],
      client: { name: userId },
    });
    expect(listed.find((s) => s.sessionId === onA.welcome.sessionId)).toMatchObject({
      state: 'reconnecting',
      nodeId: 'gw-a',
    });

    onB.client.send({ type: 'bye' });
    await eventually(async () => {
      const { body: after } = await call(`${pair.a.http}/users/${userId}/sessions`);
      return (after.sessions as unknown[]).length === 1;
    }, 'the ended session to drop out');
  });

  it('a resumable disconnect: DISCONNECTED_BY_SERVER (4010) on every session of the user, each resumes losing nothing', async () => {
    const userId = newUser();
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const onB = await session(pair.b, userId);
    const alsoB = await session(pair.b, userId);
    onB.client.send({ type: 'subscribe', channel, ref: 's' });
    await onB.client.next((f) => f.type === 'subscribed');
    const { status, body } = await call(`${pair.a.http}/users/${userId}/disconnect`, {
      body: { reason: 'rebalance' },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ userId, resumable: true });
    expect((body.sessions as string[]).sort()).toEqual(
      [onB.welcome.sessionId, alsoB.welcome.sessionId].sort(),
    );
    const error = await closedWith(onB.client, 'DISCONNECTED_BY_SERVER', 4010);
    expect(error).toMatchObject({ retryable: true, detail: 'rebalance' });
    await closedWith(alsoB.client, 'DISCONNECTED_BY_SERVER', 4010);

    const during = await publishMany(pair.a.http, channel, 3);
    const back = await hello(pair.a, {
      token: await mintToken({ sub: userId }),
      resume: resumeOf(onB.welcome),
    });
    expect(back.welcome).toMatchObject({ resumed: true, recovered: true, sessionId: onB.welcome.sessionId });
    await back.client.waitForEvents(3, channel);
    expect(back.client.events(channel).map((e) => e.id)).toEqual(during);
    await audited(pair.a, 'control.disconnect');
  });

  it('a final disconnect of one session: SESSION_CLOSED_BY_SERVER (4011), and it cannot be resumed — nor one waiting to be', async () => {
    const userId = newUser();
    const live = await session(pair.b, userId);
    const waiting = await session(pair.b, userId);
    const untouched = await session(pair.a, userId);
    waiting.client.drop();
    await sleep(200);
    for (const target of [live, waiting]) {
      const { status } = await call(`${pair.a.http}/sessions/${target.welcome.sessionId}/disconnect`, {
        body: { resumable: false },
      });
      expect(status).toBe(200);
    }
    await closedWith(live.client, 'SESSION_CLOSED_BY_SERVER', 4011);
    for (const target of [live, waiting]) {
      const { client, welcome } = await hello(pair.b, {
        token: await mintToken({ sub: userId }),
        resume: resumeOf(target.welcome),
      });
      expect(welcome).toMatchObject({ resumed: false });
      expect(welcome?.sessionId).not.toBe(target.welcome.sessionId);
      expect(client.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'RESUME_EXPIRED' });
    }
    await settle(untouched.client);
    expect(untouched.client.closed).toBeUndefined();
  });

  it('server-side subscribe: a channel the token does not allow, delivered, kept across a resume elsewhere; then unsubscribed', async () => {
    const userId = newUser();
    const channel = `news:${randomUUID().slice(0, 8)}`;
    const onB = await session(pair.b, userId, { channels: ['own:*'] });
    const ordered = await call(`${pair.a.http}/users/${userId}/subscribe`, { body: { channel } });
    expect(ordered).toMatchObject({
      status: 200,
      body: { userId, channel, sessions: [onB.welcome.sessionId] },
    });
    const subscribed = (await onB.client.next(
      (f) => f.type === 'subscribed' && f.channel === channel,
    )) as SubscribedFrame;
    expect(subscribed).toMatchObject({ server: true, recovered: true });
    expect(subscribed.ref).toBeUndefined();
    const first = await publishMany(pair.a.http, channel, 2);
    await onB.client.waitForEvents(2, channel);

    onB.client.drop();
    const missed = await publishMany(pair.b.http, channel, 2);
    const back = await hello(pair.a, {
      token: await mintToken({ sub: userId, channels: ['own:*'] }),
      resume: { ...resumeOf(onB.welcome), lastEventIds: { [channel]: first[1] } },
    });
    expect(back.welcome?.channels.map((c) => c.channel)).toContain(channel);
    expect(back.client.frames.some((f) => f.type === 'error' && f.code === 'FORBIDDEN_CHANNEL')).toBe(false);
    await back.client.waitForEvents(2, channel);
    expect(back.client.events(channel).map((e) => e.id)).toEqual(missed);
    const listed = await call(`${pair.b.http}/users/${userId}/sessions`);
    expect((listed.body.sessions as { serverChannels: string[] }[])[0]?.serverChannels).toEqual([channel]);

    const off = await call(`${pair.b.http}/sessions/${onB.welcome.sessionId}/unsubscribe`, {
      body: { channel },
    });
    expect(off.status).toBe(200);
    await back.client.next((f) => f.type === 'unsubscribed' && f.channel === channel);
    await audited(pair.b, 'control.unsubscribe');
  });

  it('server-side subscribe: every event published once the order is answered is delivered, on either process', async () => {
    // A backend's usual sequence: subscribe the user, then post to the channel at once. The
    // order reaches the session's process a moment later; what was published meanwhile is replayed.
    for (const [ordering, publishing] of [
      [pair.a, pair.a],
      [pair.b, pair.a],
      [pair.a, pair.b],
      [pair.b, pair.b],
    ] as const) {
      const userId = newUser();
      const channel = `news:${randomUUID().slice(0, 8)}`;
      const { client } = await session(pair.b, userId, { channels: ['own:*'] });
      const ordered = await call(`${ordering.http}/users/${userId}/subscribe`, { body: { channel } });
      expect(ordered.status).toBe(200);
      const published = await publishMany(publishing.http, channel, 5);
      await client.waitForEvents(5, channel);
      expect(client.events(channel).map((e) => e.id)).toEqual(published);
      expect(client.frames.find((f) => f.type === 'subscribed' && f.channel === channel)).toMatchObject({
        server: true,
        recovered: true,
      });
    }
  });

  it('server-side unsubscribe of a channel the session never held sends it nothing', async () => {
    const userId = newUser();
    const held = `news:${randomUUID().slice(0, 8)}`;
    const { client, welcome } = await session(pair.b, userId);
    client.send({ type: 'subscribe', ref: 's1', channel: held });
    await client.next((f) => f.type === 'subscribed' && f.channel === held);
    const order = (channel: string) =>
      call(`${pair.b.http}/sessions/${welcome.sessionId}/unsubscribe`, { body: { channel } });
    expect((await order('news:never-held')).status).toBe(200);
    expect((await order(held)).status).toBe(200);
    // The held channel's frame comes after whatever the first order sent.
    await client.next((f) => f.type === 'unsubscribed' && f.channel === held);
    expect(client.frames.filter((f) => f.type === 'unsubscribed').map((f) => f.channel)).toEqual([held]);
  });

  it('block: live sessions end with USER_BLOCKED (4006); hello and resume are refused until unblocked', async () => {
    const userId = newUser();
    const live = await session(pair.b, userId);
    const blocked = await call(`${pair.a.http}/users/${userId}/block`, { body: { reason: 'abuse' } });
    expect(blocked).toMatchObject({ status: 200, body: { userId, blocked: { reason: 'abuse' } } });
    const error = await closedWith(live.client, 'USER_BLOCKED', 4006);
    expect(error.retryable).toBe(false);

    for (const gw of [pair.a, pair.b]) {
      const fresh = await hello(gw, { token: await mintToken({ sub: userId }) });
      expect(fresh.error).toMatchObject({ code: 'USER_BLOCKED' });
      expect((await fresh.client.waitClosed()).code).toBe(4006);
    }
    const resumed = await hello(pair.a, {
      token: await mintToken({ sub: userId }),
      resume: resumeOf(live.welcome),
    });
    expect(resumed.error).toMatchObject({ code: 'USER_BLOCKED' });
    const listed = await call(`${pair.b.http}/users/${userId}/sessions`);
    expect(listed.body).toMatchObject({ blocked: { reason: 'abuse' }, sessions: [] });

    expect(await call(`${pair.b.http}/users/${userId}/unblock`, { body: {} })).toMatchObject({
      status: 200,
      body: { blocked: null, wasBlocked: true },
    });
    expect((await hello(pair.a, { token: await mintToken({ sub: userId }) })).welcome).toBeDefined();
    await audited(pair.a, 'control.block');
    await audited(pair.b, 'control.unblock');
  });

  it('revoke: connections on older tokens close with AUTH_TOKEN_REVOKED (4005), newer ones stay; hello and resume need a newer token', async () => {
    const userId = newUser();
    const oldToken = await mintToken({ sub: userId });
    const old = await session(pair.b, userId);
    await sleep(1100 - (Date.now() % 1000)); // into the next second: iat has whole seconds
    const before = Date.now();
    await sleep(1000 - (Date.now() % 1000) + 10);
    const newer = await mintToken({ sub: userId });
    const kept = await hello(pair.b, { token: newer });

    const revoked = await call(`${pair.a.http}/users/${userId}/revoke`, { body: { before } });
    expect(revoked).toMatchObject({ status: 200, body: { tokensRevokedBefore: before } });
    await closedWith(old.client, 'AUTH_TOKEN_REVOKED', 4005);
    await settle(kept.client);
    expect(kept.client.closed).toBeUndefined();

    const refused = await hello(pair.a, { token: oldToken });
    expect(refused.error).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
    const refusedResume = await hello(pair.a, { token: oldToken, resume: resumeOf(old.welcome) });
    expect(refusedResume.error).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
    const resumed = await hello(pair.a, { token: newer, resume: resumeOf(old.welcome) });
    expect(resumed.welcome).toMatchObject({ resumed: true, sessionId: old.welcome.sessionId });
    // A revocation never moves back: an earlier `before` keeps the later one.
    expect(
      (await call(`${pair.b.http}/users/${userId}/revoke`, { body: { before: 1000 } })).body,
    ).toMatchObject({
      tokensRevokedBefore: before,
    });
    await audited(pair.a, 'control.revoke');
  });
  it('revoke: a token without iat counts as revoked by any revocation, before: 0 included', async () => {
    const userId = newUser();
    const undated = await mintToken({ sub: userId, issuedAt: false });
    const live = await hello(pair.b, { token: undated });
    expect(live.welcome).toBeDefined();
    const revoked = await call(`${pair.a.http}/users/${userId}/revoke`, { body: { before: 0 } });
    expect(revoked).toMatchObject({ status: 200, body: { tokensRevokedBefore: 0 } });
    await closedWith(live.client, 'AUTH_TOKEN_REVOKED', 4005);
    expect((await hello(pair.a, { token: undated })).error).toMatchObject({ code: 'AUTH_TOKEN_REVOKED' });
    expect((await hello(pair.a, { token: await mintToken({ sub: userId }) })).welcome).toBeDefined();
  });
  it('revoke: a before over 24 hours ahead (2^63 and past included) is 400 naming it; revokes after it still close live connections', async () => {
    const userId = newUser();
    const live = await session(pair.b, userId);
    const revoke = (before: string) =>
      call(`${pair.a.http}/users/${userId}/revoke`, { rawBody: `{"before":${before}}` });
    for (const before of [
      '1e300',
      '9223372036854775808',
      '18446744073709551616',
      `${Date.now() + 25 * 3_600_000}`,
    ]) {
      const refused = await revoke(before);
      expect(refused.status, before).toBe(400);
      expect(refused.body, before).toMatchObject({
        error: 'MALFORMED_MESSAGE',
        message: expect.stringContaining('before'),
      });
    }
    expect((await call(`${pair.a.http}/users/${userId}/sessions`)).body).toMatchObject({
      tokensRevokedBefore: null,
    });
    const before = Date.now() + 2000; // past the live token's iat, within the bound
    expect(await revoke(`${before}`)).toMatchObject({ status: 200, body: { tokensRevokedBefore: before } });
    await closedWith(live.client, 'AUTH_TOKEN_REVOKED', 4005);
  });

  it('a token whose sub is over 256 characters is refused at hello (AUTH_INVALID_TOKEN, 4001): no route could name its user', async () => {
    const tooLong = await hello(pair.a, { token: await mintToken({ sub: 'u'.repeat(257) }) });
    expect(tooLong.error).toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      detail: expect.stringContaining('sub'),
    });
    expect((await tooLong.client.waitClosed()).code).toBe(4001);
    const longest = `${newUser()}-é/`.padEnd(256, 'x');
    await session(pair.a, longest);
    const listed = await call(`${pair.b.http}/users/${encodeURIComponent(longest)}/sessions`);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toHaveLength(1);
  });

  it('a token whose sub has a lone surrogate is refused at hello: as UTF-8 it would be U+FFFD, sharing another user’s keys', async () => {
    const base = newUser();
    const lone = await hello(pair.a, { token: await mintToken({ sub: `${base}\ud800` }) });
    expect(lone.error).toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      detail: expect.stringContaining('lone surrogate'),
    });
    expect((await lone.client.waitClosed()).code).toBe(4001);
    // The user it would have collided with is not listed with a session it does not have.
    const other = await call(`${pair.b.http}/users/${encodeURIComponent(`${base}\ufffd`)}/sessions`);
    expect(other.body.sessions).toEqual([]);
  });
});

describe('a session whose process was killed', () => {
  it(
    'is listed connected while renewed, reconnecting once its process missed three leases, and resumes elsewhere',
    async () => {
      // Both with a 1 s lease: every process reads a lapse by the lease they all share.
      const env = { ...pair.env, SESSION_LEASE_MS: '1000' };
      const [doomed, reader] = await Promise.all([
        spawnGateway({ ...env, NODE_ID: 'gw-doomed' }),
        spawnGateway({ ...env, NODE_ID: 'gw-reader' }),
      ]);
      try {
        const userId = newUser();
        const { welcome } = await session(doomed, userId);
        const stateOnReader = async () => {
          const { body } = await call(`${reader.http}/users/${userId}/sessions`);
          return (body.sessions as { state: string; nodeId: string }[])[0];
        };
        await sleep(4000); // past three leases: a process that renews is still its holder
        expect(await stateOnReader()).toMatchObject({ state: 'connected', nodeId: 'gw-doomed' });

        await doomed.kill('SIGKILL');
        const killedAt = Date.now();
        await eventually(
          async () => (await stateOnReader())?.state === 'reconnecting',
          'listed reconnecting',
        );
        expect(Date.now() - killedAt).toBeLessThan(6000);
        const back = await hello(reader, {
          token: await mintToken({ sub: userId }),
          resume: resumeOf(welcome),
        });
        expect(back.welcome).toMatchObject({ resumed: true, sessionId: welcome.sessionId });
        expect(await stateOnReader()).toMatchObject({ state: 'connected', nodeId: 'gw-reader' });
      } finally {
        await Promise.all([doomed.kill('SIGKILL'), reader.kill()]);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('orders that pass a session no live connection holds', () => {
  it(
    'a block ends a session whose process was killed: after the unblock it cannot be resumed',
    async () => {
      const doomed = await spawnGateway({ ...pair.env, NODE_ID: `gw-doomed-${randomUUID().slice(0, 4)}` });
      try {
        const userId = newUser();
        const { welcome } = await session(doomed, userId);
        await doomed.kill('SIGKILL'); // nobody hears the block for this session
        expect((await call(`${pair.a.http}/users/${userId}/block`, { body: {} })).status).toBe(200);
        const listed = await call(`${pair.b.http}/users/${userId}/sessions`);
        expect(listed.body.sessions).toEqual([]);
        await call(`${pair.b.http}/users/${userId}/unblock`, { body: {} });
        const back = await hello(pair.b, {
          token: await mintToken({ sub: userId }),
          resume: resumeOf(welcome),
        });
        expect(back.welcome).toMatchObject({ resumed: false });
        expect(back.client.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'RESUME_EXPIRED' });
      } finally {
        await doomed.kill('SIGKILL');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('a resumable disconnect of a resume waiting in the admission line is DISCONNECTED_BY_SERVER (4010): the session is kept', async () => {
    const gw = await startTestGateway({ MAX_CONNECTIONS: '1', RATE_CONNECT_PER_USER: '0' });
    try {
      const userId = newUser();
      const first = await session(gw, userId);
      first.client.drop();
      await sleep(200);
      const holder = await session(gw, newUser()); // takes the one slot
      const waiting = await TestClient.connect(gw.url);
      track(waiting);
      waiting.send({
        type: 'hello',
        token: await mintToken({ sub: userId }),
        resume: resumeOf(first.welcome),
      });
      await waiting.next((f) => f.type === 'queued');
      const ordered = await call(`${gw.http}/users/${userId}/disconnect`, { body: { resumable: true } });
      expect(ordered).toMatchObject({ status: 200, body: { sessions: [first.welcome.sessionId] } });
      const error = await closedWith(waiting, 'DISCONNECTED_BY_SERVER', 4010);
      expect(error.retryable).toBe(true);
      holder.client.drop();
      const back = await hello(gw, {
        token: await mintToken({ sub: userId }),
        resume: resumeOf(first.welcome),
      });
      expect(back.welcome).toMatchObject({ resumed: true, sessionId: first.welcome.sessionId });
    } finally {
      await gw.stop();
    }
  });
});

describe('bad control requests get their coded errors', () => {
  it('401 without a key; 400 for bad JSON, unknown fields, bad values, names and query parameters; 403 for inboxes; 404 for unknown sessions', async () => {
    const http = pair.a.http;
    expect((await call(`${http}/users/u/sessions`, { key: null })).status).toBe(401);
    expect((await call(`${http}/users/u/disconnect`, { key: 'nope', body: {} })).status).toBe(401);
    const bad: [string, Parameters<typeof call>[1], number, string][] = [
      ['/users/u/disconnect', { rawBody: '{"resumable":' }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/disconnect', { body: { resumable: 'yes' } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/disconnect', { body: { code: 4000 } }, 400, 'MALFORMED_MESSAGE'],
      ['/sessions/not%20a%20session/disconnect', { body: {} }, 400, 'MALFORMED_MESSAGE'],
      [`/sessions/${randomUUID()}/disconnect`, { body: {} }, 404, 'NOT_FOUND'],
      ['/users/u/subscribe', { body: {} }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/subscribe', { body: { channel: 'two words' } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/subscribe', { body: { channel: 'inbox:abc' } }, 403, 'FORBIDDEN_CHANNEL'],
      ['/users/u/unsubscribe', { body: { channel: 'room:1', extra: 1 } }, 400, 'MALFORMED_MESSAGE'],
      [`/sessions/${randomUUID()}/subscribe`, { body: { channel: 'room:1' } }, 404, 'NOT_FOUND'],
      ['/users/u/block', { body: { ttlS: 0 } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/block', { body: { reason: '' } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/revoke', { body: { before: 'now' } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/revoke', { body: { before: -5 } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/revoke', { rawBody: 'x'.repeat(70_000) }, 413, 'MESSAGE_TOO_LARGE'],
      [`/users/${'x'.repeat(257)}/sessions`, {}, 400, 'MALFORMED_MESSAGE'],
      ['/users/%E0%A4%A/sessions', {}, 400, 'MALFORMED_MESSAGE'],
      [`/users/${'x'.repeat(257)}/unblock`, { body: {} }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/unblock', { body: { now: true } }, 400, 'MALFORMED_MESSAGE'],
      ['/users/u/sessions?limit=5', {}, 400, 'MALFORMED_MESSAGE'], // no control route takes a query
      ['/users/u/block?ttlS=60', { body: {} }, 400, 'MALFORMED_MESSAGE'],
    ];
    for (const [path, init, status, error] of bad) {
      const answer = await call(`${http}${path}`, init);
      expect(answer.status, path).toBe(status);
      expect(answer.body, path).toMatchObject({ error, correlationId: expect.any(String) });
    }
    // Nothing was ordered: no audit line for the refused requests.
    expect(pair.a.logs().filter((l) => l.audit === 'control.block' && l.userId === 'u')).toEqual([]);
  });
});

describe('a control body that is not UTF-8', () => {
  it('is 400 MALFORMED_MESSAGE, not stored with U+FFFD in place of its bytes', async () => {
    const userId = newUser();
    const res = await fetch(`${pair.a.http}/users/${userId}/block`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BACKEND_KEY}`, 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"reason":"A'), Buffer.from([0xff, 0xfe]), Buffer.from('B"}')]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'MALFORMED_MESSAGE',
      message: expect.stringContaining('UTF-8'),
    });
    expect((await call(`${pair.a.http}/users/${userId}/sessions`)).body).toMatchObject({ blocked: null });
  });
});
