/**
 * The client SDK's presence (issue 15) against a real gateway whose channels track
 * presence and send join/leave events: `subscription.presence()` pages through the
 * members, `join` and `leave` events carry who came and went, a channel without
 * presence rejects with PRESENCE_NOT_ENABLED, and a resumed session keeps the
 * backend's server-side subscription instead of unsubscribing it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type PresenceChange,
  type PresenceMember,
  TetherClient,
  TetherClientError,
} from '../../packages/client/src/index.ts';
import { configFile } from '../support/config-file.ts';
import { eventually, publishMany } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    CONFIG_FILE: configFile({ namespaces: { room: { presence: true, joinLeave: true } } }),
  });
});
afterAll(() => gw.stop());

const clients: TetherClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function client(sub: string, channels = ['*']): TetherClient {
  const made = new TetherClient({
    url: gw.url,
    WebSocket,
    getToken: () => mintToken({ sub, channels }),
    clientName: sub,
  });
  clients.push(made);
  made.connect();
  return made;
}

describe('presence in the SDK', () => {
  it('presence() pages through the members; join and leave events say who came and went', async () => {
    const channel = `room:${randomUUID().slice(0, 8)}`;
    const alice = client('alice').subscribe(channel);
    await alice.ready();
    const joins: PresenceChange[] = [];
    const leaves: PresenceChange[] = [];
    alice.on('join', (change) => joins.push(change));
    alice.on('leave', (change) => leaves.push(change));
    const others = ['bob', 'carol', 'dave'].map((sub) => client(sub).subscribe(channel));
    await Promise.all(others.map((s) => s.ready()));

    // Alice may hear her own join too: the frame that carries it can reach her once she is live.
    const joined = () => new Set(joins.flatMap((c) => c.members.map((m) => m.userId)));
    await eventually(() => ['bob', 'carol', 'dave'].every((u) => joined().has(u)), 'three joins');
    expect(joins.at(-1)?.count).toBe(4);
    const members: PresenceMember[] = [];
    let cursor: string | undefined;
    do {
      const page = await alice.presence({ limit: 3, cursor });
      expect(page.count).toBe(4);
      members.push(...page.members);
      cursor = page.cursor;
    } while (cursor);
    expect(members.map((m) => m.userId).sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(members.find((m) => m.userId === 'bob')?.client.name).toBe('bob');
    expect((await alice.presence({ limit: 0 })).members).toEqual([]);

    others[0]?.unsubscribe();
    await eventually(() => leaves.some((c) => c.members.some((m) => m.userId === 'bob')), 'bob’s leave');
    expect(leaves.at(-1)).toMatchObject({ count: 3, truncated: false });
  });

  it('a channel without presence: presence() rejects with PRESENCE_NOT_ENABLED', async () => {
    const plain = client('erin').subscribe(`plain:${randomUUID().slice(0, 8)}`);
    await plain.ready();
    const error = await plain.presence().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherClientError);
    expect((error as TetherClientError).code).toBe('PRESENCE_NOT_ENABLED');
  });

  it('a resumed session keeps the backend’s server-side subscription; subscribe() then delivers it', async () => {
    const channel = `news:${randomUUID().slice(0, 8)}`;
    const frank = client('frank', ['room:*']);
    await eventually(() => frank.state === 'connected', 'connected');
    const ordered = await fetch(`${gw.http}/users/frank/subscribe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel }),
    });
    expect(ordered.status).toBe(200);
    await eventually(async () => {
      const res = await fetch(`${gw.http}/users/frank/sessions`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      const body = (await res.json()) as { sessions: { serverChannels: string[] }[] };
      return body.sessions[0]?.serverChannels.includes(channel);
    }, 'the server-side subscription recorded');
    const sessionId = frank.sessionId;
    // A resumable disconnect: the SDK resumes the session and must not unsubscribe the channel.
    await fetch(`${gw.http}/users/frank/disconnect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    await eventually(() => frank.state === 'reconnecting', 'the disconnect');
    await eventually(() => frank.state === 'connected', 'the resume', 15_000);
    expect(frank.sessionId).toBe(sessionId);
    const news = frank.subscribe(channel);
    await news.ready();
    const received: string[] = [];
    news.on('publication', (event) => received.push(event.id));
    const ids = await publishMany(gw.http, channel, 2);
    await eventually(() => received.length === 2, 'the events');
    expect(received).toEqual(ids);
  });
});
