/**
 * The presence adapter on a real Redis (src/presence/): the scripts' rules — a join
 * keeps the first `since`, a session's end removes it only where that process still
 * holds it, leases that run out are swept and announced, pages walk every member
 * present throughout exactly once whatever joins meanwhile — and the membership
 * feed's: changes merged per window, a member that came and went within one is no
 * news, lists cut at 100 with `truncated`, windows growing with the channel.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelPresence, type PresenceOp } from '../../src/presence/channel-presence.ts';
import { MembershipFeed, windowMs } from '../../src/presence/membership-feed.ts';
import type { RedisConnection } from '../../src/redis/redis-target.ts';
import type { MembershipFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import { connectTestRedis } from '../support/test-redis.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let commands: RedisConnection;
let subscriber: RedisConnection;
beforeAll(() => {
  commands = connectTestRedis();
  subscriber = connectTestRedis();
});
afterAll(async () => {
  await Promise.all([commands.quit(), subscriber.quit()]);
});

const join = (sessionId: string, userId = sessionId, since = 1): PresenceOp => ({
  op: 'j',
  sessionId,
  json: JSON.stringify({ userId, sessionId, client: {}, since }),
});
const channelName = () => `room:${randomUUID().slice(0, 8)}`;

/** A feed for `channel`, and the frames it broadcast. */
async function listen(presence: ChannelPresence, channel: string) {
  const frames: MembershipFrame[] = [];
  const feed = new MembershipFeed(
    subscriber,
    presence,
    (_, text) => frames.push(JSON.parse(text)),
    pino({ level: 'silent' }),
  );
  feed.watch(channel);
  await sleep(100); // the SUBSCRIBE is through
  return { frames, feed };
}

describe('presence in Redis', () => {
  it('a join again keeps the first since; an end from a process that no longer holds the session removes nothing', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 60_000);
    const b = new ChannelPresence(commands, prefix, 'node-b', 60_000);
    const channel = channelName();
    await a.apply(channel, [join('s1', 'alice', 100)]);
    await b.apply(channel, [join('s1', 'alice', 999)]); // resumed on b
    await a.apply(channel, [{ op: 'e', sessionId: 's1' }]); // a's actor ended late
    expect(await a.page(channel, 10)).toEqual({
      count: 1,
      members: [{ userId: 'alice', sessionId: 's1', client: {}, since: 100 }],
      cursor: undefined,
    });
    await b.apply(channel, [{ op: 'e', sessionId: 's1' }]);
    expect((await a.page(channel, 10)).count).toBe(0);
  });

  it('pages by cursor walk every member present throughout once, while others join and leave', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 60_000);
    const channel = channelName();
    const steady = Array.from({ length: 250 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    await a.apply(
      channel,
      steady.map((id) => join(id)),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await a.page(channel, 40, cursor);
      seen.push(...result.members.map((m) => m.sessionId));
      await a.apply(channel, [join(`x${page}`), join(`a${page}`), { op: 'l', sessionId: `x${page - 1}` }]);
      cursor = result.cursor;
      if (!cursor) break;
    }
    const steadySeen = seen.filter((id) => id.startsWith('s'));
    expect(steadySeen).toEqual(steady);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a crashed process’s members are swept when their leases run out, and the leave is announced', async () => {
    const crashed = new ChannelPresence(commands, prefix, 'node-gone', 300);
    const alive = new ChannelPresence(commands, prefix, 'node-alive', 60_000);
    const channel = channelName();
    const { frames, feed } = await listen(alive, channel);
    await crashed.apply(channel, [join('g1'), join('g2')]);
    await alive.apply(channel, [join('live')]);
    await sleep(400);
    expect((await alive.page(channel, 10)).members.map((m) => m.sessionId)).toEqual(['live']);
    await eventually(
      () =>
        frames
          .flatMap((f) => f.left.map((m) => m.sessionId))
          .sort()
          .join() === 'g1,g2',
      'the sweep announced',
    );
    feed.unwatch(channel);
  });

  it('a refresh extends this process’s leases and says which members went missing or moved', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 800);
    const b = new ChannelPresence(commands, prefix, 'node-b', 60_000);
    const channel = channelName();
    await a.apply(channel, [join('mine'), join('moving')]);
    await b.apply(channel, [join('moving')]);
    await sleep(500);
    expect(await a.refresh(channel, ['mine', 'moving', 'lost'])).toEqual({
      missing: ['lost'],
      moved: ['moving'],
    });
    await sleep(500); // past the first lease, within the refreshed one
    expect((await b.page(channel, 10)).members.map((m) => m.sessionId)).toEqual(['mine', 'moving']);
  });
});

describe('membership frames', () => {
  it('a window merges what it hears: one came and went (no news), one left and came back (joined), truncated past 100', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 60_000);
    const channel = channelName();
    await a.apply(channel, [join('back')]);
    const { frames, feed } = await listen(a, channel);
    await a.apply(channel, [join('first')]); // sent at once: the window opens
    await eventually(() => frames.length === 1, 'the first frame');
    await a.apply(channel, [join('brief')]);
    await a.apply(channel, [
      { op: 'l', sessionId: 'brief' },
      { op: 'l', sessionId: 'back' },
    ]);
    await a.apply(channel, [join('back')]);
    await a.apply(
      channel,
      Array.from({ length: 120 }, (_, i) => join(`many${i}`)),
    );
    await eventually(() => frames.length === 2, 'the second frame');
    const [first, second] = frames as [MembershipFrame, MembershipFrame];
    expect(first).toMatchObject({ type: 'membership', channel, count: 2, left: [] });
    expect(first.joined.map((m) => m.sessionId)).toEqual(['first']);
    const listed = second.joined.map((m) => m.sessionId);
    expect(listed).toHaveLength(100);
    expect(listed).toContain('back');
    expect(listed).not.toContain('brief');
    expect(second).toMatchObject({ count: 122, left: [], truncated: true });
    await sleep(400);
    expect(frames).toHaveLength(2);
    feed.unwatch(channel);
  });

  it('the window grows with the channel: 250 ms up to 1,000 members, 2.5 s at 10,000', () => {
    expect(windowMs(10)).toBe(250);
    expect(windowMs(1000)).toBe(250);
    expect(windowMs(4000)).toBe(1000);
    expect(windowMs(10_000)).toBe(2500);
  });
});
