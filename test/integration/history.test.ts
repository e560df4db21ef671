/**
 * History (issue 15 item 3): `GET /channels/:channel/history` for backends and the
 * `history` frame for sockets — pages by `limit`, `since` (exclusive, in the
 * direction of travel) and `reverse`, the epoch and top, data byte for byte, a gap
 * never silent (`recovered: false`), and bad input answered with a coded error. The frame
 * runs over both transports (WebSocket and the SSE fallback, issue 17).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, EventFrame, HistoryPageFrame } from '../../src/shared/frames.ts';
import { publishMany } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_API_KEY,
  type TestGateway,
  type TokenClaims,
} from '../support/gateway.ts';
import { pauseReading, resumeReading } from '../support/pause-reading.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

interface HttpPage {
  channel: string;
  epoch: string;
  top: string;
  recovered: boolean;
  gap?: 'lost' | 'missing' | 'trimmed';
  events: EventFrame[];
}

const dir = mkdtempSync(join(tmpdir(), 'tether-history-'));
let gw: TestGateway;
const opened: TestClient[] = [];
const run = Math.random().toString(36).slice(2, 8);
const room = `room:${run}`;
let published: string[];

beforeAll(async () => {
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ namespaces: { cursor: { replay: false }, tiny: { historyMaxEvents: 1 } } }),
  );
  gw = await startTestGateway({ CONFIG_FILE: config });
  published = await publishMany(gw.http, room, 25, 1);
});

afterAll(async () => {
  for (const client of opened) client.drop();
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function history(channel: string, query = '', key = TEST_API_KEY): Promise<Response> {
  return fetch(`${gw.http}/channels/${channel}/history${query}`, {
    headers: { authorization: `Bearer ${key}` },
  });
}

async function page(channel: string, query = ''): Promise<HttpPage> {
  const res = await history(channel, query);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as HttpPage;
}

async function session(claims: TokenClaims = {}, transport: Transport = 'websocket') {
  const started = await TestClient.session(endpoint(gw, transport), { token: await mintToken(claims) });
  opened.push(started.client);
  return started;
}

async function ask(
  client: TestClient,
  frame: Record<string, unknown>,
  timeoutMs?: number,
): Promise<HistoryPageFrame | ErrorFrame> {
  const ref = `h${Math.random().toString(36).slice(2)}`;
  client.send({ type: 'history', ref, ...frame });
  return client.next((f): f is HistoryPageFrame | ErrorFrame => 'ref' in f && f.ref === ref, timeoutMs);
}

const idsOf = (events: EventFrame[]) => events.map((event) => event.id);

describe('GET /channels/:channel/history', () => {
  it('pages forward by since (exclusive) until the top, with the epoch a subscriber gets', async () => {
    const first = await page(room, '?limit=10');
    expect(idsOf(first.events)).toEqual(published.slice(0, 10));
    expect(first.top).toBe(published[24]);
    expect(first.recovered).toBe(true);
    expect(first.events[0]).toMatchObject({ type: 'event', channel: room, data: { n: 0 } });
    const second = await page(room, `?limit=10&since=${published[9]}`);
    expect(idsOf(second.events)).toEqual(published.slice(10, 20));
    const last = await page(room, `?limit=10&since=${published[19]}`);
    expect(idsOf(last.events)).toEqual(published.slice(20));
    expect((await page(room, `?since=${last.top}`)).events).toEqual([]);

    const { client } = await session();
    client.send({ type: 'subscribe', channel: room, ref: 's' });
    const subscribed = await client.next((f) => f.type === 'subscribed');
    expect(first.epoch).toBe((subscribed as { epoch: string }).epoch);
  });

  it('reverse pages newest first, since going back in time', async () => {
    const newest = await page(room, '?limit=10&reverse=true');
    expect(idsOf(newest.events)).toEqual(published.slice(15).reverse());
    const older = await page(room, `?limit=10&reverse=true&since=${published[15]}`);
    expect(idsOf(older.events)).toEqual(published.slice(5, 15).reverse());
    expect(idsOf((await page(room, `?reverse=true&since=${published[0]}`)).events)).toEqual([]);
  });

  it('without limit, 100 events at most', async () => {
    const channel = `room:many-${run}`;
    await publishMany(gw.http, channel, 130);
    expect((await page(channel)).events).toHaveLength(100);
    expect((await page(channel, '?limit=1000')).events).toHaveLength(130);
  });

  it('data comes back byte for byte as the publisher wrote it', async () => {
    const channel = `room:exact-${run}`;
    const data = '{"big": 12345678901234567890123, "x" : 1e400,"s":"\\u00e9"}';
    const res = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: `{"channel":"${channel}","data":${data}}`,
    });
    expect(res.status).toBe(200);
    const text = await (await history(channel)).text();
    expect(text).toContain(`"data":${data}}`);
  });

  it('a position from another epoch, or past the top, is lost history: recovered false, from the start', async () => {
    const stale = await page(room, `?limit=3&since=${published[5]}&epoch=another`);
    expect(stale).toMatchObject({ recovered: false, gap: 'lost' });
    expect(idsOf(stale.events)).toEqual(published.slice(0, 3));
    const beyond = await page(room, '?limit=3&since=99999999999999-0');
    expect(beyond.recovered).toBe(false);
    expect(idsOf(beyond.events)).toEqual(published.slice(0, 3));
    const backwards = await page(room, '?limit=2&reverse=true&since=99999999999999-0');
    expect(idsOf(backwards.events)).toEqual([published[24], published[23]]);
    const current = await page(room, `?limit=1&since=${published[5]}&epoch=${stale.epoch}`);
    expect(current).toMatchObject({ recovered: true, events: [{ id: published[6] }] });
  });

  it('paging forward past a trim says so: the page starts at the oldest event held', async () => {
    const channel = `tiny:${run}`;
    const ids = await publishMany(gw.http, channel, 250, 4);
    const trimmed = await page(channel, `?limit=5&since=${ids[0]}`);
    expect(trimmed).toMatchObject({ recovered: false, gap: 'trimmed' });
    const oldest = trimmed.events[0]?.id as string;
    expect(ids.indexOf(oldest)).toBeGreaterThan(1);
    expect(idsOf(trimmed.events)).toEqual(ids.slice(ids.indexOf(oldest), ids.indexOf(oldest) + 5));
    expect((await page(channel, `?limit=5&since=${oldest}`)).recovered).toBe(true);
  });

  it('paging backward to the oldest event held after a trim says so; a log never trimmed does not', async () => {
    const channel = `tiny:back-${run}`;
    const ids = await publishMany(gw.http, channel, 250, 4);
    const all = await page(channel, '?limit=1000&reverse=true');
    expect(all).toMatchObject({ recovered: false, gap: 'trimmed' });
    const oldest = all.events.at(-1)?.id as string;
    expect(ids.indexOf(oldest)).toBeGreaterThan(1);
    expect(all.events.length).toBeGreaterThan(1); // so a page of one stops short of the oldest
    const newest = await page(channel, '?limit=1&reverse=true');
    expect(newest).toMatchObject({ recovered: true, events: [{ id: ids[249] }] });
    expect(await page(channel, `?limit=5&reverse=true&since=${oldest}`)).toMatchObject({
      recovered: false,
      gap: 'trimmed',
      events: [],
    });
    const whole = await page(room, '?limit=1000&reverse=true');
    expect([whole.recovered, whole.gap, idsOf(whole.events)]).toEqual([
      true,
      undefined,
      [...published].reverse(),
    ]);
  });

  it('a page stops once its events pass 1 MiB of data, and paging goes on from there', async () => {
    const channel = `room:large-${run}`;
    const blob = 'x'.repeat(60_000);
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) ids.push(await publishHttp(gw.http, channel, { n, blob }));
    const first = await page(channel, '?limit=100');
    expect(first.events.length).toBeGreaterThan(10);
    expect(first.events.length).toBeLessThan(30);
    const rest = await page(channel, `?limit=100&since=${first.events.at(-1)?.id}`);
    expect([...idsOf(first.events), ...idsOf(rest.events)]).toEqual(ids);
  });

  it('refuses bad input with 400 MALFORMED_MESSAGE naming the parameter', async () => {
    const cases: [string, string, string][] = [
      [room, '?limit=0', 'limit: must be an integer from 1 to 1000'],
      [room, '?limit=1001', 'limit: must be an integer from 1 to 1000'],
      [room, '?limit=ten', 'limit: must be an integer'],
      [room, '?since=yesterday', 'since: must be an event ID'],
      [room, '?since=18446744073709551616-0', 'since: must be an event ID'],
      [room, '?reverse=maybe', 'reverse: must be true or false'],
      [room, '?epoch=no%20spaces', 'epoch: must be an epoch'],
      [room, '?from=1-0', 'unknown parameter "from"'],
      [room, '?limit=1&limit=2', 'limit: given more than once'],
      ['room%2A', '', 'channel: must be 1–128 of'],
      ['x'.repeat(129), '', 'channel: must be 1–128 of'],
    ];
    for (const [channel, query, message] of cases) {
      const res = await history(channel, query);
      expect(res.status, `${channel}${query}`).toBe(400);
      const body = (await res.json()) as { error: string; message: string; correlationId: string };
      expect(body.error).toBe('MALFORMED_MESSAGE');
      expect(body.message, `${channel}${query}`).toContain(message);
      expect(body.correlationId).toBeTruthy();
    }
  });

  it('reads limit as plain decimal digits only: hex, exponents, signs, spaces and fractions are 400', async () => {
    for (const limit of ['0x10', '1e1', '0b11', '+5', '%205%20', '5.0', '%0A7', '']) {
      const res = await history(room, `?limit=${limit}`);
      expect(res.status, limit).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body, limit).toMatchObject({
        error: 'MALFORMED_MESSAGE',
        message: expect.stringContaining('limit: must be an integer'),
      });
    }
    expect((await page(room, '?limit=007')).events).toHaveLength(7);
  });

  it('positions at the edges of the ID space get a correct page or a coded 400; JS object keys are plain channels', async () => {
    const top = published[24] as string;
    // 0-0 is before every event: the page from the start, whole.
    expect(await page(room, '?limit=2&since=0-0')).toMatchObject({
      recovered: true,
      events: [{ id: published[0] }, { id: published[1] }],
    });
    expect((await page(room, '?limit=2&since=0-0')).gap).toBeUndefined();
    // Past the top, and the largest ID there is: a history that is gone, read again from the start.
    for (const since of ['99999999999999-0', '18446744073709551615-18446744073709551615'])
      expect(await page(room, `?limit=1&since=${since}`), since).toMatchObject({
        recovered: false,
        gap: 'lost',
        top,
        events: [{ id: published[0] }],
      });
    // Not event IDs (past 2^64 − 1, negative, signed, not numeric, empty): 400 naming `since`.
    for (const since of [
      '18446744073709551616-0',
      '0-18446744073709551616',
      '-1-0',
      '%2B1-0',
      '1',
      'x-y',
      '',
      '1-0-0',
    ])
      expect(await history(room, `?since=${since}`).then((res) => res.json()), since).toMatchObject({
        error: 'MALFORMED_MESSAGE',
        message: expect.stringContaining('since: must be an event ID'),
      });
    // A channel spelt like an object's own keys is a channel like any other: an empty log,
    // where any position but 0-0 is past its top.
    for (const channel of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const empty = { channel, top: '0-0', events: [] };
      expect(await page(channel, '?since=0-0'), channel).toMatchObject({ ...empty, recovered: true });
      expect(await page(channel, '?since=1-0'), channel).toMatchObject({ ...empty, gap: 'lost' });
    }
  });

  it('needs a backend API key', async () => {
    const res = await history(room, '', 'not-the-key-0123456789');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('UNAUTHORIZED');
    expect((await fetch(`${gw.http}/channels/${room}/history`)).status).toBe(401);
  });

  it('a backend reads namespaces that refuse replay to clients', async () => {
    await publishHttp(gw.http, `cursor:${run}`, { at: 1 });
    expect((await page(`cursor:${run}`)).events).toHaveLength(1);
  });
});

describe.each(TRANSPORTS)('the history frame, over %s', (transport: Transport) => {
  it('answers with the same page as HTTP, as a history frame with its ref', async () => {
    const { client } = await session({}, transport);
    const answer = await ask(client, { channel: room, limit: 4, since: published[2] });
    const http = await page(room, `?limit=4&since=${published[2]}`);
    expect(answer).toMatchObject({
      type: 'history',
      channel: room,
      epoch: http.epoch,
      top: http.top,
      recovered: true,
    });
    expect((answer as HistoryPageFrame).events).toEqual(http.events);
    const reversed = await ask(client, { channel: room, limit: 2, reverse: true });
    expect(idsOf((reversed as HistoryPageFrame).events as EventFrame[])).toEqual([
      published[24],
      published[23],
    ]);
  });

  it('a socket page stops at a quarter of MAX_BACKPRESSURE_BYTES', async () => {
    const channel = `room:large-${run}`;
    const { client } = await session({}, transport);
    const answer = (await ask(client, { channel, limit: 1000 })) as HistoryPageFrame;
    // 1 MiB buffer → 256 KiB pages: four 60 KB events, the fifth would pass it.
    expect(answer.events).toHaveLength(4);
  });

  it('follows the token: channels claim, own inbox only, system channels only with system: patterns', async () => {
    const { client, welcome } = await session({ channels: ['room:*'] }, transport);
    for (const channel of ['other:1', 'inbox:someone-else', 'system:sessions']) {
      expect(await ask(client, { channel })).toMatchObject({
        type: 'error',
        code: 'FORBIDDEN_CHANNEL',
        detail: channel,
      });
    }
    expect(await ask(client, { channel: `inbox:${welcome.sessionId}` })).toMatchObject({
      type: 'history',
      events: [],
      epoch: 'session',
    });
    const { client: star } = await session({ channels: ['*'] }, transport);
    expect(await ask(star, { channel: 'system:sessions' })).toMatchObject({ code: 'FORBIDDEN_CHANNEL' });
    const { client: backend } = await session({ channels: ['system:*'] }, transport);
    expect(await ask(backend, { channel: 'system:sessions' })).toMatchObject({ type: 'history' });
  });

  it('a namespace with replay: false answers REPLAY_DISABLED; the connection carries on', async () => {
    const { client } = await session({}, transport);
    expect(await ask(client, { channel: `cursor:${run}` })).toMatchObject({
      type: 'error',
      code: 'REPLAY_DISABLED',
      category: 'event',
      retryable: false,
    });
    expect(await ask(client, { channel: room, limit: 1 })).toMatchObject({ type: 'history' });
  });

  it('positions at the edges of the ID space and JS-key channels: the same answers as over HTTP', async () => {
    const { client } = await session({}, transport);
    for (const since of ['0-0', '99999999999999-0']) {
      const http = await page(room, `?limit=2&since=${since}`);
      const answer = (await ask(client, { channel: room, limit: 2, since })) as HistoryPageFrame;
      expect({ ...answer, type: undefined, ref: undefined }, since).toEqual({
        ...http,
        type: undefined,
        ref: undefined,
      });
    }
    for (const since of ['18446744073709551616-0', '-1-0', '1', 'x-y', '']) {
      const answer = (await ask(client, { channel: room, since })) as ErrorFrame;
      expect(answer, since).toMatchObject({
        code: 'MALFORMED_MESSAGE',
        detail: expect.stringContaining('history/since'),
      });
    }
    for (const channel of ['__proto__', 'constructor'])
      expect(await ask(client, { channel }), channel).toMatchObject({
        type: 'history',
        channel,
        top: '0-0',
        events: [],
      });
    for (const [from, recovered] of [
      ['99999999999999-0', false],
      ['0-0', true],
    ] as const) {
      const ref = `s${from}`;
      client.send({ type: 'subscribe', ref, channel: '__proto__', from });
      expect(await client.next((f) => 'ref' in f && f.ref === ref), from).toMatchObject({
        type: 'subscribed',
        channel: '__proto__',
        recovered,
      });
      client.send({ type: 'unsubscribe', channel: '__proto__' });
      await client.next((f) => f.type === 'unsubscribed');
    }
  });

  it('bad fields are MALFORMED_MESSAGE naming the field, with the ref', async () => {
    const { client } = await session({}, transport);
    for (const [frame, where] of [
      [{ channel: room, limit: 0 }, 'history/limit'],
      [{ channel: room, since: 'nope' }, 'history/since'],
      [{ channel: 'a*' }, 'history/channel'],
      [{ channel: room, cursor: 'x' }, 'history/'],
    ] as const) {
      const answer = (await ask(client, frame)) as ErrorFrame;
      expect(answer.code).toBe('MALFORMED_MESSAGE');
      expect(answer.detail).toContain(where);
    }
  });
});

describe('history of large events', () => {
  it('a burst of long pages reads about a page from Redis each and is answered as the socket drains: publishes from others go on being acked', {
    timeout: 90_000,
  }, async () => {
    const channel = `room:heavy-${run}`;
    const blob = 'x'.repeat(60_000);
    for (let n = 0; n < 300; n++) await publishHttp(gw.http, channel, { n, blob }); // 18 MB of log
    const { client } = await session();
    // Each asks for 1000 events and gets four (256 KiB pages): the log is read up to the
    // budget, not 1000 events deep — 40 of those would hold Redis for seconds.
    // 10 MB of pages to one socket: on a busy test box that alone takes seconds.
    const asked = Array.from({ length: 40 }, () => ask(client, { channel, limit: 1000 }, 60_000));
    const neighbour: number[] = [];
    for (let n = 0; n < 20; n++) {
      const res = await fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: `room:neighbour-${run}`, data: { n } }),
      });
      neighbour.push(res.status);
    }
    const pages = await Promise.all(asked);
    expect(neighbour.filter((status) => status !== 200)).toEqual([]);
    for (const answer of pages) expect((answer as HistoryPageFrame).events).toHaveLength(4);
    // Answered one by one as the socket drains: reading its own answers never makes it slow.
    expect(client.closed).toBeUndefined();
  });

  it('a client that stops reading while forty pages are asked is answered as it drains, never cut as slow', {
    timeout: 90_000,
  }, async () => {
    const channel = `room:heavy-${run}`; // filled by the test above; 300 events
    if ((await page(channel, '?limit=1')).events.length === 0)
      for (let n = 0; n < 20; n++) await publishHttp(gw.http, channel, { n, blob: 'x'.repeat(60_000) });
    const { client } = await session();
    pauseReading(client);
    // 40 pages of 240 KB: ten times MAX_BACKPRESSURE_BYTES, were they all written at once.
    const asked = Array.from({ length: 40 }, () => ask(client, { channel, limit: 1000 }, 60_000));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(client.closed).toBeUndefined();
    resumeReading(client);
    const pages = await Promise.all(asked);
    for (const answer of pages) expect((answer as HistoryPageFrame).events).toHaveLength(4);
    expect(client.closed).toBeUndefined();
  });
});
