/**
 * WebSocket control frames (RFC 6455 §5.5) are frames a client sends too: pings and pongs count
 * toward the connection's message rate like any frame, so a flood of them ends as a flood of
 * data frames does (TOO_MANY_ERRORS, 1008), on either edge, while other connections go on;
 * pings within the rate are answered, payload echoed. A message split into continuation frames
 * is measured whole. Real sockets, on the edge the project runs (EDGE: integration-uws / -ws).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOOD_REFUSALS } from '../../src/core/message-rate.ts';
import type { ErrorFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import { mintToken, publishHttp } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: LoggedGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

/** The default MESSAGES_PER_SECOND, and its burst: frames taken at once before any is refused. */
const RATE = 100;
const BURST = 2 * RATE;
/**
 * An event reaches the bystander within this, flood or not: the gateway, the flooder and the
 * bystander share this process, on a shared two-core box.
 */
const ON_TIME_MS = 3000;
/** Pings a flood sends: well past the burst and FLOOD_REFUSALS refusals. */
const FLOOD = FLOOD_REFUSALS + 3000;

async function gateway(): Promise<LoggedGateway> {
  const gw = await startLoggedGateway({ LOG_LEVEL: 'info' });
  gateways.push(gw);
  return gw;
}

async function session(gw: LoggedGateway, sub: string): Promise<TestClient> {
  const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub }) });
  clients.push(client);
  return client;
}

/** A bystander on the same gateway, subscribed to `channel`. */
async function bystander(gw: LoggedGateway, channel: string): Promise<TestClient> {
  const client = await session(gw, 'calm');
  client.send({ type: 'subscribe', channel, ref: 'sub' });
  await client.next((f) => f.type === 'subscribed');
  return client;
}

/** The bystander hears an event published now, within `withinMs`. */
async function hearsOnTime(gw: LoggedGateway, client: TestClient, channel: string, withinMs: number) {
  const before = client.events(channel).length;
  const sentAt = Date.now();
  await publishHttp(gw.http, channel, { at: sentAt });
  await client.waitForEvents(before + 1, channel, withinMs);
  expect(Date.now() - sentAt).toBeLessThan(withinMs);
  expect(client.closed).toBeUndefined();
}

/** A masked client frame, written as it is: what a client library would not send. */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  let head: Buffer;
  if (length < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length]);
  else {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, 0, 0]);
    head.writeUInt16BE(length, 2);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([head, mask, body]);
}

const tcp = (client: TestClient) => (client.ws as unknown as { _socket: Socket })._socket;

/** The flooder was closed as a flood: TOO_MANY_ERRORS, 1008, logged once as refused and once as closed; refusals counted. */
async function closedAsFlood(gw: LoggedGateway, flooder: TestClient, kind: string) {
  expect(await flooder.waitClosed(10_000)).toEqual({ code: 1008, reason: 'TOO_MANY_ERRORS' });
  const errors = flooder.frames.filter((f): f is ErrorFrame => f.type === 'error');
  expect(errors.at(-1)).toMatchObject({ code: 'TOO_MANY_ERRORS', category: 'client', retryable: true });
  expect(errors.at(-1)?.detail).toContain(kind);
  // A control frame has no ref to send again: refusals are counted, not answered frame by frame.
  expect(errors.filter((e) => e.code === 'MESSAGE_RATE_LIMITED')).toHaveLength(0);
  await eventually(() => gw.lines().some((l) => l.code === 'TOO_MANY_ERRORS'), 'the close logged');
  expect(gw.lines().filter((l) => l.code === 'MESSAGE_RATE_LIMITED')).toHaveLength(1);
  await eventually(() => gw.gateway.core.connections.size === 1, 'the flooder gone, the bystander kept');
  // …and every refusal counted, as a frame's is.
  const metrics = await (await fetch(`${gw.http}/metrics`)).text();
  const refused = /tether_errors_total\{code="MESSAGE_RATE_LIMITED",category="client"\} (\d+)/.exec(metrics);
  expect(Number(refused?.[1])).toBeGreaterThanOrEqual(FLOOD_REFUSALS);
}

describe('control frames count toward the message rate', () => {
  it(`a ping flood (${FLOOD} pings of 125 bytes) is closed with TOO_MANY_ERRORS/1008 after the burst and ${FLOOD_REFUSALS} refusals; pongs stop there; a bystander gets its events on time`, async () => {
    const gw = await gateway();
    const calm = await bystander(gw, 'cf:calm');
    const flooder = await session(gw, 'flooder');
    let pongs = 0;
    flooder.ws.on('pong', () => pongs++);

    const payload = Buffer.alloc(125, 0x2a);
    const floodAt = Date.now();
    for (let i = 0; i < FLOOD && !flooder.closed; i++) flooder.ws.ping(payload);
    await hearsOnTime(gw, calm, 'cf:calm', ON_TIME_MS);

    await closedAsFlood(gw, flooder, 'ping');
    // Every ping up to the close may be answered (uWS pongs before the gateway hears of it):
    // the burst, the refused ones and what the rate gave back meanwhile; none after.
    const refilled = Math.ceil((RATE * (Date.now() - floodAt)) / 1000);
    expect(pongs).toBeLessThanOrEqual(BURST + FLOOD_REFUSALS + refilled + 1);
    expect(pongs).toBeLessThan(FLOOD);
    await hearsOnTime(gw, calm, 'cf:calm', ON_TIME_MS);
  });

  it(`a pong flood (${FLOOD} unsolicited pongs) is closed the same way; a bystander gets its events on time`, async () => {
    const gw = await gateway();
    const calm = await bystander(gw, 'cf:calm');
    const flooder = await session(gw, 'flooder');

    for (let i = 0; i < FLOOD && !flooder.closed; i++) flooder.ws.pong();
    await hearsOnTime(gw, calm, 'cf:calm', ON_TIME_MS);

    await closedAsFlood(gw, flooder, 'pong');
    await hearsOnTime(gw, calm, 'cf:calm', ON_TIME_MS);
  });

  it('pings within the burst (150 of 125 bytes, in one write) each get their pong, payload echoed; the connection stays open and its frames are taken', async () => {
    const gw = await gateway();
    const client = await session(gw, 'pinger');
    const echoed: Buffer[] = [];
    client.ws.on('pong', (data) => echoed.push(data));

    const payloads = Array.from({ length: 150 }, (_, i) => Buffer.alloc(125, i));
    tcp(client).write(Buffer.concat(payloads.map((p) => clientFrame(0x9, p))));
    await eventually(() => echoed.length === payloads.length, 'a pong per ping');
    expect(echoed).toEqual(payloads);

    client.send({ type: 'publish', channel: 'cf:after', data: {}, ref: 'p' });
    expect(await client.next((f) => 'ref' in f && f.ref === 'p')).toMatchObject({ type: 'ack' });
    expect(client.closed).toBeUndefined();
  });
});

describe('other control-frame and fragment abuse (the edges already refuse it)', () => {
  it('a text message in 1,000 continuation frames totalling 100 KB is refused whole: MESSAGE_TOO_LARGE/1009', async () => {
    const gw = await gateway();
    const client = await session(gw, 'fragments');
    const part = Buffer.alloc(100, 0x20);
    const frames = [clientFrame(0x1, part, false)];
    for (let i = 1; i < 999; i++) frames.push(clientFrame(0x0, part, false));
    frames.push(clientFrame(0x0, part, true));
    tcp(client).write(Buffer.concat(frames));

    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(await client.waitClosed()).toEqual({ code: 1009, reason: 'MESSAGE_TOO_LARGE' });
  });

  it('continuation frames past 4× the limit (500 KB) cut the connection (1006), counted as MESSAGE_TOO_LARGE', async () => {
    const gw = await gateway();
    const client = await session(gw, 'fragments');
    const part = Buffer.alloc(100, 0x20);
    const frames = [clientFrame(0x1, part, false)];
    for (let i = 1; i < 5000; i++) frames.push(clientFrame(0x0, part, false));
    tcp(client).write(Buffer.concat(frames));

    expect((await client.waitClosed()).code).toBe(1006);
    await eventually(
      () => gw.lines().some((l) => l.code === 'MESSAGE_TOO_LARGE'),
      'the cut logged as MESSAGE_TOO_LARGE',
    );
  });

  it('a ping of 126 bytes (over the 125 a control frame may carry) or a fragmented ping cuts that connection (1006), no other', async () => {
    const gw = await gateway();
    const calm = await bystander(gw, 'cf:calm');
    const long = await session(gw, 'long');
    tcp(long).write(clientFrame(0x9, Buffer.alloc(126, 1)));
    const split = await session(gw, 'split');
    tcp(split).write(clientFrame(0x9, Buffer.alloc(5, 1), false));

    expect((await long.waitClosed()).code).toBe(1006);
    expect((await split.waitClosed()).code).toBe(1006);
    await sleep(50);
    await hearsOnTime(gw, calm, 'cf:calm', ON_TIME_MS);
  });
});
