/**
 * The presence adapter on a real Redis (src/presence/): the scripts' rules — a join
 * keeps the first `since`, a session's end removes it only where that process still
 * holds it, leases that run out are swept and announced, pages walk every member
 * present throughout exactly once whatever joins meanwhile — and the membership
 * feed's: changes merged per window, a member that came and went within one is no
 * news, lists cut at 100 with `truncated`, windows growing with the channel, and a
 * process's first member hearing its own join however long the SUBSCRIBE takes.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChannelOptions } from '../../src/config/channel-policy.ts';
import { ChannelPresence, type PresenceOp } from '../../src/presence/channel-presence.ts';
import { MEMBERSHIP_INTERVAL_MS, MembershipFeed, windowMs } from '../../src/presence/membership-feed.ts';
import { PresenceTracker } from '../../src/presence/presence-tracker.ts';
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

/**
 * A feed for `channel`, and the frames it broadcast. The feed starts with a clean slate:
 * the subscription is in place, and every announcement made before is through. A plain
 * wait is neither: under load a SUBSCRIBE can take longer, and on a cluster a script's
 * PUBLISH reaches a subscriber on another node over the cluster bus, after the script's
 * reply — an earlier join could arrive after the SUBSCRIBE and open the feed's first
 * window. So the topic is subscribed first and a fence published from the channel's node,
 * where its scripts publish: that node's bus link is in order, so with the fence heard,
 * whatever was announced before it has come and gone. Only then does the feed listen.
 */
async function listen(presence: ChannelPresence, channel: string) {
  const topic = presence.topic(channel);
  const fence = `fence:${randomUUID()}`;
  const fenced = new Promise<void>((resolve) => {
    const onMessage = (from: string, message: string) => {
      if (from !== topic || message !== fence) return;
      subscriber.off('message', onMessage);
      resolve();
    };
    subscriber.on('message', onMessage);
  });
  await subscriber.subscribe(topic);
  // The topic shares the channel's hash tag: as KEYS[1] it routes the script to that node.
  await commands.eval("return redis.call('PUBLISH', KEYS[1], ARGV[1])", 1, topic, fence);
  await fenced;
  const frames: MembershipFrame[] = [];
  const feed = new MembershipFeed(
    subscriber,
    presence,
    (_, text) => frames.push(JSON.parse(text)),
    pino({ level: 'silent' }),
  );
  feed.watch(channel); // subscribed already: it hears what is announced from now on
  return { frames, feed };
}

/**
 * Resolves once `count` more announcements of `channel` have reached the subscriber — and
 * the feed: it was listening first, and listeners run in order.
 */
function announced(presence: ChannelPresence, channel: string, count: number): Promise<void> {
  const topic = presence.topic(channel);
  let left = count;
  return new Promise((resolve) => {
    const onMessage = (from: string) => {
      if (from !== topic || --left > 0) return;
      subscriber.off('message', onMessage);
      resolve();
    };
    subscriber.on('message', onMessage);
  });
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

  it('members whose lease ran out are neither counted nor listed, however many the sweep has yet to reach', async () => {
    // A sweep removes a bounded number per script call (256): a process that crashed with
    // more members than that in a channel leaves some behind for later calls. Reads must
    // not count or list them: their lease ran out, they are gone.
    const crashed = new ChannelPresence(commands, prefix, 'node-gone', 300);
    const alive = new ChannelPresence(commands, prefix, 'node-alive', 60_000);
    const channel = channelName();
    const gone = Array.from({ length: 700 }, (_, i) => join(`g${String(i).padStart(3, '0')}`));
    await crashed.apply(channel, gone);
    await alive.apply(channel, [join('live'), join('zz-live')]);
    await sleep(400);
    expect(await alive.page(channel, 0)).toEqual({ count: 2, members: [], cursor: undefined });
    const first = await alive.page(channel, 1);
    expect(first.count).toBe(2);
    expect(first.members.map((m) => m.sessionId)).toEqual(['live']);
    const listed: string[] = [...first.members.map((m) => m.sessionId)];
    let cursor = first.cursor;
    for (let page = 0; cursor && page < 10; page++) {
      const next = await alive.page(channel, 1, cursor);
      listed.push(...next.members.map((m) => m.sessionId));
      cursor = next.cursor;
    }
    expect(cursor).toBeUndefined();
    expect(listed).toEqual(['live', 'zz-live']);
    // Past its lease a member has left, swept or not: joining again (a resume elsewhere,
    // too late) is a new join — its new `since`, announced — not the old member kept.
    const other = channelName();
    await crashed.apply(other, gone);
    await alive.apply(other, [join('live')]); // keeps the channel's keys
    await sleep(400);
    const { frames, feed } = await listen(alive, other);
    await alive.apply(other, [join('g699', 'g699', 7)]);
    expect(await alive.page(other, 10)).toEqual({
      count: 2,
      members: [
        { userId: 'g699', sessionId: 'g699', client: {}, since: 7 },
        { userId: 'live', sessionId: 'live', client: {}, since: 1 },
      ],
      cursor: undefined,
    });
    await eventually(
      () => frames.some((f) => f.joined.some((m) => m.sessionId === 'g699')),
      'the join announced',
    );
    feed.unwatch(other);
  });

  it('a refresh extends this process’s leases and says which members went missing or moved', async () => {
    // The leases' clock (Date.now, read by ChannelPresence) is the test's: a stall of the
    // box cannot run a lease out before the refresh, nor past the refreshed one.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const a = new ChannelPresence(commands, prefix, 'node-a', 800);
      const b = new ChannelPresence(commands, prefix, 'node-b', 60_000);
      const channel = channelName();
      await a.apply(channel, [join('mine'), join('moving'), join('unrefreshed')]);
      await b.apply(channel, [join('moving')]);
      vi.advanceTimersByTime(500);
      expect(await a.refresh(channel, ['mine', 'moving', 'lost'])).toEqual({
        missing: ['lost'],
        moved: ['moving'],
      });
      vi.advanceTimersByTime(500); // past the first lease, within the refreshed one
      expect((await b.page(channel, 10)).members.map((m) => m.sessionId)).toEqual(['mine', 'moving']);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('membership frames', () => {
  it('a window merges what it hears: one came and went (no news), one left and came back (joined), truncated past 100', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 60_000);
    const channel = channelName();
    await a.apply(channel, [join('back')]);
    const { frames, feed } = await listen(a, channel);
    // The feed's clock is the test's: a window closes when the test moves time, not when
    // a loaded box gets round to it, so what the window holds is what the test sent.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      let heard = announced(a, channel, 1);
      await a.apply(channel, [join('first')]);
      await heard;
      vi.advanceTimersByTime(0); // sent at once: the window opens
      expect(frames).toHaveLength(1);
      heard = announced(a, channel, 4);
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
      await heard;
      vi.advanceTimersByTime(MEMBERSHIP_INTERVAL_MS - 1);
      expect(frames).toHaveLength(1); // the window is still open
      vi.advanceTimersByTime(1);
      expect(frames).toHaveLength(2);
      const [first, second] = frames as [MembershipFrame, MembershipFrame];
      expect(first).toMatchObject({ type: 'membership', channel, count: 2, left: [] });
      expect(first.joined.map((m) => m.sessionId)).toEqual(['first']);
      const listed = second.joined.map((m) => m.sessionId);
      expect(listed).toHaveLength(100);
      expect(listed).toContain('back');
      expect(listed).not.toContain('brief');
      expect(second).toMatchObject({ count: 122, left: [], truncated: true });
      vi.advanceTimersByTime(4 * MEMBERSHIP_INTERVAL_MS);
      expect(frames).toHaveLength(2); // nothing was left for a third
    } finally {
      vi.useRealTimers();
      feed.unwatch(channel);
    }
  });

  it('a process’s first member of a channel gets its own join frame, however long the SUBSCRIBE takes', async () => {
    const a = new ChannelPresence(commands, prefix, 'node-a', 60_000);
    const channel = channelName();
    // The real subscriber, its SUBSCRIBE held back as on a loaded box or a far node.
    const slowSubscriber = new Proxy(subscriber, {
      get(target, key, receiver) {
        if (key !== 'subscribe') return Reflect.get(target, key, receiver);
        return async (...topics: string[]) => {
          await sleep(200);
          return target.subscribe(...topics);
        };
      },
    });
    const frames: MembershipFrame[] = [];
    const logger = pino({ level: 'silent' });
    const feed = new MembershipFeed(slowSubscriber, a, (_, text) => frames.push(JSON.parse(text)), logger);
    const options = { presence: true, joinLeave: true } as ChannelOptions;
    const tracker = new PresenceTracker(a, () => options, feed, logger);
    try {
      tracker.subscribed(channel, { userId: 'alice', sessionId: 'first', client: {} });
      await eventually(() => frames.length > 0, 'the membership frame', 5000);
      expect(frames[0]).toMatchObject({ type: 'membership', channel, count: 1, left: [] });
      expect(frames[0]?.joined.map((m) => m.sessionId)).toEqual(['first']);
      expect((await a.page(channel, 10)).count).toBe(1);
    } finally {
      tracker.unsubscribed(channel, 'first');
    }
  });

  it('the window grows with the channel: 250 ms up to 1,000 members, 2.5 s at 10,000', () => {
    expect(windowMs(10)).toBe(250);
    expect(windowMs(1000)).toBe(250);
    expect(windowMs(4000)).toBe(1000);
    expect(windowMs(10_000)).toBe(2500);
  });
});
