/**
 * Auth is checked again on resume (issue 2, "What a user must be able to do" 3):
 * a resume token that does not match, or a session of another user, is refused
 * with RESUME_REJECTED (and a fresh session instead); an expired token cannot
 * resume at all; a channel the new token no longer allows is dropped with
 * FORBIDDEN_CHANNEL and its events stop, while the allowed ones resume losslessly. Every case
 * runs over both transports (WebSocket and the SSE fallback, issue 17).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { publishMany } from '../support/events.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.drop();
});

const newChannel = (kind: string) => `${kind}:${randomUUID().slice(0, 8)}`;

describe.each(TRANSPORTS)('over %s', (transport: Transport) => {
  const url = () => endpoint(gw, transport);

  /** A session subscribed to `channels`, then dropped as a network failure would. */
  async function droppedSession(token: string, channels: string[]) {
    const { client, welcome } = await TestClient.session(url(), { token });
    clients.push(client);
    for (const channel of channels) {
      client.send({ type: 'subscribe', channel, ref: channel });
      await client.next((f) => f.type === 'subscribed' && f.ref === channel);
    }
    client.drop();
    return welcome;
  }

  async function hello(frame: Record<string, unknown>): Promise<TestClient> {
    const client = await TestClient.connect(url());
    clients.push(client);
    client.send({ type: 'hello', ...frame });
    await client.next((f) => f.type === 'welcome' || (f.type === 'error' && f.code.startsWith('AUTH_')));
    return client;
  }

  const resumeOf = (welcome: WelcomeFrame, lastEventIds: Record<string, string> = {}) => ({
    sessionId: welcome.sessionId,
    resumeToken: welcome.resumeToken,
    lastEventIds,
  });

  const welcomeOf = (client: TestClient) => client.frames.find((f) => f.type === 'welcome') as WelcomeFrame;
  const errorsOf = (client: TestClient) => client.frames.filter((f): f is ErrorFrame => f.type === 'error');

  describe('resume is refused when it is not the session owner asking', () => {
    it('a wrong resume token → RESUME_REJECTED before welcome, a fresh session, and the real one stays resumable', async () => {
      const token = await mintToken({ sub: 'owner' });
      const channel = newChannel('room');
      const original = await droppedSession(token, [channel]);
      const missed = await publishMany(gw.http, channel, 3);

      const guess = await hello({ token, resume: { ...resumeOf(original), resumeToken: 'not-the-token' } });
      expect(guess.frames.map((f) => f.type)).toEqual(['error', 'welcome']);
      expect(errorsOf(guess)[0]).toMatchObject({ code: 'RESUME_REJECTED' });
      expect(welcomeOf(guess)).toMatchObject({ userId: 'owner', resumed: false, channels: [] });
      expect(welcomeOf(guess).sessionId).not.toBe(original.sessionId);
      expect(guess.closed).toBeUndefined();

      // The refusal changed nothing: the owner resumes and gets what it missed, once.
      const owner = await hello({ token, resume: resumeOf(original) });
      expect(welcomeOf(owner)).toMatchObject({ sessionId: original.sessionId, resumed: true });
      await owner.waitForEvents(3, channel);
      expect(ids(owner.events(channel))).toEqual(missed);
      expect(guess.events()).toEqual([]);
    });

    it("another user's token with the right resume token → RESUME_REJECTED; none of the session's events reach it", async () => {
      const channel = newChannel('room');
      const original = await droppedSession(await mintToken({ sub: 'alice' }), [channel]);
      await publishMany(gw.http, channel, 2);

      const mallory = await hello({ token: await mintToken({ sub: 'mallory' }), resume: resumeOf(original) });
      expect(errorsOf(mallory).map((e) => e.code)).toEqual(['RESUME_REJECTED']);
      expect(welcomeOf(mallory)).toMatchObject({ userId: 'mallory', resumed: false, channels: [] });
      expect(welcomeOf(mallory).sessionId).not.toBe(original.sessionId);

      // Alice's session is still hers: she resumes it; Mallory saw nothing of it.
      const alice = await hello({ token: await mintToken({ sub: 'alice' }), resume: resumeOf(original) });
      expect(welcomeOf(alice)).toMatchObject({ sessionId: original.sessionId, resumed: true });
      await alice.waitForEvents(2, channel);
      const live = await publishHttp(gw.http, channel, { after: 'mallory' });
      await alice.waitForEvents(3, channel);
      expect(ids(alice.events(channel)).at(-1)).toBe(live);
      expect(mallory.events()).toEqual([]);
    });

    it('an expired token cannot resume (AUTH_TOKEN_EXPIRED, 4002); a fresh token then resumes losslessly', async () => {
      const channel = newChannel('room');
      const original = await droppedSession(await mintToken({ sub: 'sleeper' }), [channel]);
      const missed = await publishMany(gw.http, channel, 3);

      // A token that expired a minute ago (jose takes a negative relative time as the past).
      const stale = await hello({
        token: await mintToken({ sub: 'sleeper', expiresIn: '-60s' }),
        resume: resumeOf(original),
      });
      expect(stale.frames.map((f) => f.type)).toEqual(['error']);
      expect(errorsOf(stale)[0]).toMatchObject({ code: 'AUTH_TOKEN_EXPIRED', retryable: true });
      expect(await stale.waitClosed()).toEqual({ code: 4002, reason: 'AUTH_TOKEN_EXPIRED' });

      const fresh = await hello({ token: await mintToken({ sub: 'sleeper' }), resume: resumeOf(original) });
      expect(welcomeOf(fresh)).toMatchObject({
        sessionId: original.sessionId,
        resumed: true,
        recovered: true,
      });
      await fresh.waitForEvents(3, channel);
      expect(ids(fresh.events(channel))).toEqual(missed);
    });
  });

  describe('a resumed session keeps only the channels the new token allows', () => {
    it('a channel no longer allowed is dropped with FORBIDDEN_CHANNEL and its events stop; the others resume once, in order', async () => {
      const room = newChannel('room');
      const news = newChannel('news');
      const before = await mintToken({ sub: 'reader', channels: ['room:*', 'news:*'] });
      const original = await droppedSession(before, [room, news]);
      const missedRoom = await publishMany(gw.http, room, 5);
      await publishMany(gw.http, news, 5);

      // The new token no longer covers news:*.
      const after = await mintToken({ sub: 'reader', channels: ['room:*'] });
      const resumed = await hello({ token: after, resume: resumeOf(original) });
      const welcome = welcomeOf(resumed);
      expect(welcome).toMatchObject({ sessionId: original.sessionId, resumed: true, recovered: true });
      expect(welcome.channels.map((c) => c.channel)).toEqual([room]);
      // The error comes before welcome and names the dropped channel.
      expect(resumed.frames[0]).toMatchObject({ type: 'error', code: 'FORBIDDEN_CHANNEL' });
      expect((resumed.frames[0] as ErrorFrame).detail).toContain(news);
      expect(resumed.closed).toBeUndefined();

      await resumed.waitForEvents(5, room);
      expect(ids(resumed.events(room))).toEqual(missedRoom);

      // Live traffic on both: a witness subscribed to news on the same process shows when
      // the news events have been fanned out; by then the resumed client would have them too.
      const witness = await TestClient.session(url(), { token: before });
      clients.push(witness.client);
      witness.client.send({ type: 'subscribe', channel: news, ref: 'w' });
      await witness.client.next((f) => f.type === 'subscribed');
      const liveNews = await publishMany(gw.http, news, 3);
      const liveRoom = await publishMany(gw.http, room, 3);
      await witness.client.waitForEvents(3, news);
      await resumed.waitForEvents(8, room);
      expect(ids(witness.client.events(news))).toEqual(liveNews);
      expect(ids(resumed.events(room))).toEqual([...missedRoom, ...liveRoom]);
      expect(resumed.events(news)).toEqual([]);
    });
  });
});
