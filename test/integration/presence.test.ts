/**
 * Presence across two gateway processes (issue 15): the same members, pages and count
 * from either process, over the socket and over HTTP; a member leaves when its session
 * ends, when its resume window passes, or when its process dies (its lease runs out);
 * a dropped session that resumes in time never left; join/leave events reach the
 * subscribers of both processes, a burst coalesced into a few frames that list it. A resume
 * in time and bad requests run over both transports (WebSocket and the SSE fallback, issue 17).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, MembershipFrame, PresenceMember, PresentFrame } from '../../src/shared/frames.ts';
import { configFile } from '../support/config-file.ts';
import { eventually, publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, TEST_ADMIN_KEY } from '../support/gateway.ts';
import { call, type GatewayPair, spawnPair } from '../support/gateway-pair.ts';
import { type GatewayProcess, PROCESS_TEST_TIMEOUT_MS, spawnGateway } from '../support/gateway-process.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const RESUME_WINDOW_MS = 2000;
const LEASE_MS = 1000;
const NAMESPACES = { room: { presence: true, joinLeave: true }, quiet: { presence: true } };

let pair: GatewayPair;
beforeAll(async () => {
  pair = await spawnPair({
    CONFIG_FILE: configFile({ namespaces: NAMESPACES }),
    RESUME_WINDOW_MS: String(RESUME_WINDOW_MS),
    SESSION_LEASE_MS: String(LEASE_MS),
    RATE_CONNECT_PER_IP: '0',
    RATE_CONNECT_PER_USER: '0',
  });
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(() => Promise.all([pair?.a.kill(), pair?.b.kill()]));

const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.drop();
});

const unique = (prefix: string) => `${prefix}:${randomUUID().slice(0, 8)}`;

async function connect(
  gw: GatewayProcess,
  sub: string,
  extra: Record<string, unknown> = {},
  transport: Transport = 'websocket',
) {
  const session = await TestClient.session(endpoint(gw, transport), {
    token: await mintToken({ sub }),
    client: { name: sub },
    ...extra,
  });
  clients.push(session.client);
  return session;
}

/** A session on `gw` subscribed to `channel`. */
async function member(gw: GatewayProcess, sub: string, channel: string, transport?: Transport) {
  const session = await connect(gw, sub, {}, transport);
  session.client.send({ type: 'subscribe', channel, ref: 's' });
  await session.client.next((f) => f.type === 'subscribed' && f.channel === channel);
  return session;
}

let refs = 0;
async function askPresence(client: TestClient, channel: string, limit?: number, cursor?: string) {
  const ref = `p${++refs}`;
  client.send({ type: 'presence', ref, channel, limit, cursor });
  return (await client.next((f) => (f.type === 'present' || f.type === 'error') && f.ref === ref)) as
    | PresentFrame
    | ErrorFrame;
}

/** Every member, page by page through the socket; checks each page's size and cursor. */
async function allPagesOverSocket(client: TestClient, channel: string, limit: number) {
  const members: PresenceMember[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = (await askPresence(client, channel, limit, cursor)) as PresentFrame;
    expect(page.type).toBe('present');
    expect(page.members.length).toBeLessThanOrEqual(limit);
    members.push(...page.members);
    cursor = page.cursor;
    if (!cursor) return { count: page.count, members };
  }
  throw new Error('more than 50 pages');
}

async function allPagesOverHttp(gw: GatewayProcess, channel: string, limit: number) {
  const members: PresenceMember[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { status, body } = await call(`${gw.http}/channels/${channel}/presence?${query}`);
    expect(status).toBe(200);
    members.push(...(body.members as PresenceMember[]));
    cursor = body.cursor as string | null;
    if (cursor === null) return { count: body.count as number, members };
  }
  throw new Error('more than 50 pages');
}

const countVia = async (gw: GatewayProcess, channel: string) =>
  (await call(`${gw.http}/channels/${channel}/presence?limit=0`)).body.count as number;
const usersVia = async (gw: GatewayProcess, channel: string) =>
  (await allPagesOverHttp(gw, channel, 1000)).members.map((m) => m.userId).sort();
const memberships = (client: TestClient, channel: string) =>
  client.frames.filter((f): f is MembershipFrame => f.type === 'membership' && f.channel === channel);

describe('presence across two processes', () => {
  it('the same members, count and pages from either process, over the socket and over HTTP', async () => {
    const channel = unique('room');
    const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    const sessions = await Promise.all(users.map((u, i) => member(i % 2 ? pair.b : pair.a, u, channel)));
    await eventually(async () => (await countVia(pair.a, channel)) === 7, 'both processes to count 7');
    expect(await countVia(pair.b, channel)).toBe(7);

    const fromA = await allPagesOverSocket(sessions[0]!.client, channel, 3);
    const fromB = await allPagesOverSocket(sessions[1]!.client, channel, 3);
    expect(fromA).toEqual(fromB);
    expect(fromA.count).toBe(7);
    expect(fromA.members.map((m) => m.userId).sort()).toEqual(users);
    expect(new Set(fromA.members.map((m) => m.sessionId)).size).toBe(7);
    const u3 = fromA.members.find((m) => m.userId === 'u3');
    expect(u3).toMatchObject({ sessionId: sessions[3]!.welcome.sessionId, client: { name: 'u3' } });
    expect(u3?.since).toBeGreaterThan(Date.now() - 60_000);

    expect(await allPagesOverHttp(pair.b, channel, 2)).toEqual(fromA);
    expect(await allPagesOverHttp(pair.a, channel, 1000)).toEqual(fromA);
    const countOnly = await askPresence(sessions[2]!.client, channel, 0);
    expect(countOnly).toMatchObject({ type: 'present', count: 7, members: [] });
    expect((countOnly as PresentFrame).cursor).toBeUndefined();
  });

  it('a session that says bye leaves at once; a dropped one stays for its resume window, then leaves', async () => {
    const channel = unique('room');
    const observer = await member(pair.a, 'observer', channel);
    const leaving = await member(pair.b, 'leaving', channel);
    const dropped = await member(pair.a, 'dropped', channel);
    await eventually(async () => (await countVia(pair.b, channel)) === 3, 'three members');

    leaving.client.send({ type: 'bye' });
    await eventually(
      async () => (await usersVia(pair.a, channel)).join() === 'dropped,observer',
      'bye to leave',
    );
    expect(await usersVia(pair.b, channel)).toEqual(['dropped', 'observer']);

    dropped.client.drop();
    const droppedAt = Date.now();
    await sleep(RESUME_WINDOW_MS / 2);
    expect(await usersVia(pair.b, channel)).toEqual(['dropped', 'observer']); // reconnecting: still present
    await eventually(
      async () => (await usersVia(pair.b, channel)).join() === 'observer',
      'the window to pass',
      10_000,
    );
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(RESUME_WINDOW_MS);
    await eventually(
      () => memberships(observer.client, channel).some((f) => f.left.some((m) => m.userId === 'dropped')),
      'the leave event',
    );
  });

  it.each(TRANSPORTS)(
    'a drop and a resume on the other process within the window: never left, same since, no join or leave event (%s)',
    async (transport: Transport) => {
      const channel = unique('room');
      const observer = await member(pair.b, 'watcher', channel);
      const mover = await member(pair.a, 'mover', channel, transport);
      await eventually(
        () => memberships(observer.client, channel).some((f) => f.joined.some((m) => m.userId === 'mover')),
        'the join',
      );
      const before = (await askPresence(observer.client, channel)) as PresentFrame;
      const framesBefore = memberships(observer.client, channel).length;

      mover.client.drop();
      const resumed = await TestClient.session(endpoint(pair.b, transport), {
        token: await mintToken({ sub: 'mover' }),
        resume: { sessionId: mover.welcome.sessionId, resumeToken: mover.welcome.resumeToken },
      });
      clients.push(resumed.client);
      expect(resumed.welcome).toMatchObject({ resumed: true, sessionId: mover.welcome.sessionId });
      await resumed.client.next((f) => f.type === 'subscribed' && f.channel === channel);
      await sleep(1000); // past a coalescing window and a lease refresh
      await settle(observer.client);
      expect(memberships(observer.client, channel).length).toBe(framesBefore);
      const after = (await askPresence(observer.client, channel)) as PresentFrame;
      expect(after.members).toEqual(before.members);
    },
  );

  it('join/leave reach subscribers on both processes; 60 joins in ~600 ms come in a few frames listing all of them', async () => {
    const channel = unique('room');
    const quietChannel = unique('quiet');
    const onA = await member(pair.a, 'obs-a', channel);
    const onB = await member(pair.b, 'obs-b', channel);
    onA.client.send({ type: 'subscribe', channel: quietChannel, ref: 'q' });
    await onA.client.next((f) => f.type === 'subscribed' && f.channel === quietChannel);
    const joiners = await Promise.all(
      Array.from({ length: 60 }, (_, i) => connect(i % 2 ? pair.b : pair.a, `burst-${i}`)),
    );
    // The observers' own joins are out of the way once heard: obs-a, first, hears both; obs-b its own.
    const heardJoin = (client: TestClient, userId: string) =>
      memberships(client, channel).some((f) => f.joined.some((m) => m.userId === userId));
    await eventually(() => heardJoin(onA.client, 'obs-a') && heardJoin(onA.client, 'obs-b'), 'obs-a’s view');
    await eventually(() => heardJoin(onB.client, 'obs-b'), 'obs-b’s view');
    const framesBefore = {
      a: memberships(onA.client, channel).length,
      b: memberships(onB.client, channel).length,
    };

    // Spread over ~600 ms, so only the receiving side's window can coalesce them.
    const started = Date.now();
    for (const { client } of joiners) {
      client.send({ type: 'subscribe', channel, ref: 'j' });
      client.send({ type: 'subscribe', channel: quietChannel, ref: 'q' });
      await sleep(10);
    }
    await Promise.all(
      joiners.map(({ client }) => client.next((f) => f.type === 'subscribed' && f.channel === channel)),
    );
    const joinedMs = Date.now() - started;
    const burst = (client: TestClient, from: number) => memberships(client, channel).slice(from);
    const joinedIn = (client: TestClient, from: number) =>
      new Set(burst(client, from).flatMap((f) => f.joined.map((m) => m.userId)));
    for (const [observer, from] of [
      [onA.client, framesBefore.a],
      [onB.client, framesBefore.b],
    ] as const) {
      await eventually(() => joinedIn(observer, from).size === 60, 'every join');
      const frames = burst(observer, from);
      // One frame per 250 ms while joins keep coming, plus the first at once and one after.
      expect(frames.length).toBeLessThanOrEqual(Math.ceil(joinedMs / 250) + 2);
      expect(frames.length).toBeLessThan(20);
      expect(frames.at(-1)?.count).toBe(62);
      expect(frames.every((f) => f.joined.length <= 100 && f.left.length === 0)).toBe(true);
    }
    expect(memberships(onA.client, quietChannel)).toEqual([]); // presence without join/leave events

    const leftFrom = memberships(onB.client, channel).length;
    for (const { client } of joiners) client.send({ type: 'bye' });
    await eventually(
      () => new Set(burst(onB.client, leftFrom).flatMap((f) => f.left.map((m) => m.userId))).size === 60,
      'every leave',
    );
    expect(burst(onB.client, leftFrom).at(-1)?.count).toBe(2);
  });

  it(
    'a process that dies: its members go once their leases run out, and subscribers hear they left',
    async () => {
      const channel = unique('room');
      const observer = await member(pair.a, 'survivor', channel);
      const doomed = await spawnGateway({ ...pair.env, NODE_ID: 'gw-doomed' });
      try {
        for (const sub of ['d1', 'd2', 'd3']) await member(doomed, sub, channel);
        await eventually(async () => (await countVia(pair.b, channel)) === 4, 'four members');
        await doomed.kill('SIGKILL');
        await eventually(
          async () => (await usersVia(pair.b, channel)).join() === 'survivor',
          'the leases to run out',
          15_000,
        );
        await eventually(
          () =>
            new Set(memberships(observer.client, channel).flatMap((f) => f.left.map((m) => m.userId)))
              .size === 3,
          'the leave events',
        );
      } finally {
        await doomed.kill('SIGKILL');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('a member who asks right after its subscribed finds itself (its join is written after the join/leave watch starts)', async () => {
    for (let i = 0; i < 10; i++) {
      const channel = unique('room');
      const { client } = await member(pair.a, `asker${i}`, channel);
      const present = (await askPresence(client, channel, 0)) as PresentFrame;
      expect(present).toMatchObject({ type: 'present', count: 1 });
    }
  });

  it('events and presence share the channel: a publish still reaches every member', async () => {
    const channel = unique('room');
    const one = await member(pair.a, 'p1', channel);
    const two = await member(pair.b, 'p2', channel);
    const ids = await publishMany(pair.a.http, channel, 3);
    await one.client.waitForEvents(3, channel);
    await two.client.waitForEvents(3, channel);
    expect(two.client.events(channel).map((e) => e.id)).toEqual(ids);
  });
});

describe('bad presence requests get their coded errors', () => {
  it.each(TRANSPORTS)(
    'over %s: MALFORMED_MESSAGE, FORBIDDEN_CHANNEL, PRESENCE_NOT_ENABLED; the connection carries on',
    async (transport: Transport) => {
      const { client } = await TestClient.session(endpoint(pair.a, transport), {
        token: await mintToken({ sub: 'picky', channels: ['room:*', 'other:*'] }),
      });
      clients.push(client);
      for (const [frame, code, detail] of [
        [{ channel: 'room:1', limit: -1 }, 'MALFORMED_MESSAGE', 'presence/limit'],
        [{ channel: 'room:1', limit: 1001 }, 'MALFORMED_MESSAGE', 'presence/limit'],
        [{ channel: 'room:1', limit: 'ten' }, 'MALFORMED_MESSAGE', 'presence/limit'],
        [{ channel: 'room:1', cursor: 'not a cursor' }, 'MALFORMED_MESSAGE', 'presence/cursor'],
        [{ channel: 'room 1' }, 'MALFORMED_MESSAGE', 'presence/channel'],
        [{ channel: 'room:1', extra: true }, 'MALFORMED_MESSAGE', 'extra'],
        [{ channel: 'secret:1' }, 'FORBIDDEN_CHANNEL', 'secret:1'],
        [{ channel: 'inbox:someone' }, 'FORBIDDEN_CHANNEL', 'inbox:someone'],
        [{ channel: 'other:1' }, 'PRESENCE_NOT_ENABLED', 'other:1'],
      ] as const) {
        const ref = `bad${++refs}`;
        client.send({ type: 'presence', ref, ...frame });
        const error = (await client.next((f) => f.type === 'error' && f.ref === ref)) as ErrorFrame;
        expect(error.code).toBe(code);
        expect(error.detail).toContain(detail);
      }
      await settle(client);
      expect(client.closed).toBeUndefined();
    },
  );

  it('over HTTP: 401 without a key, 400 naming the bad part, 404 where presence is off', async () => {
    const url = (path: string) => `${pair.b.http}${path}`;
    expect((await call(url('/channels/room:1/presence'), { key: null })).status).toBe(401);
    expect((await call(url('/channels/room:1/presence'), { key: 'wrong-key' })).status).toBe(401);
    expect((await call(url('/channels/room:1/presence'), { key: TEST_ADMIN_KEY })).status).toBe(200);
    for (const [path, message] of [
      ['/channels/room%201/presence', 'channel'],
      ['/channels/room:1/presence?limit=ten', 'limit'],
      ['/channels/room:1/presence?limit=1001', 'limit'],
      ['/channels/room:1/presence?limit=-1', 'limit'],
      ['/channels/room:1/presence?cursor=%20', 'cursor'],
      ['/channels/room:1/presence?limit=0x10', 'limit'],
      ['/channels/room:1/presence?limit=1&limit=2', 'limit: given more than once'],
      ['/channels/room:1/presence?foo=bar', 'unknown parameter "foo"'],
    ] as const) {
      const { status, body } = await call(url(path));
      expect(status, path).toBe(400);
      expect(body).toMatchObject({ error: 'MALFORMED_MESSAGE' });
      expect(body.message).toContain(message);
      expect(body.correlationId).toEqual(expect.any(String));
    }
    const off = await call(url('/channels/other:1/presence'));
    expect(off).toMatchObject({ status: 404, body: { error: 'PRESENCE_NOT_ENABLED' } });
    expect((await call(url('/channels/inbox:x/presence'))).status).toBe(404);
  });
});
