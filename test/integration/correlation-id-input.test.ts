/**
 * A client's correlation ID has one rule (docs/protocol.md §2, src/shared/identifiers.ts):
 * 1–128 visible ASCII characters. It is copied into log lines, spans, BullMQ jobs and stream
 * entries, so a newline, NUL, escape or unbounded value must never get there. In `hello` a bad
 * one is MALFORMED_MESSAGE — the connection stays open for a corrected hello and a bystander
 * notices nothing; in an `x-correlation-id` header (upgrade, `GET /sse`, `POST /publish`, admin)
 * it is replaced by a generated ID. Raw NUL, CR or LF in a header never reach the gateway (both
 * edges' HTTP parsers refuse the request); DEL and non-ASCII bytes can, so they are sent raw here.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { isCorrelationId } from '../../src/shared/identifiers.ts';
import { mintToken, publishHttp, TEST_API_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Every character class the rule admits, at the longest it allows. */
const VALID = `Root=1-5759e988;Parent=53995c3f~"ok"!${'x'.repeat(91)}`;
/** What a header can carry past a client library: HTAB, SP, length (non-ASCII: raw, below). */
const BAD_IN_HEADER = ['tab\there', 'two words', 'c'.repeat(129)];
const BAD_IN_HELLO = [
  'forged\n{"level":30,"msg":"admin login ok"}',
  'a\rb',
  'nul\u0000byte',
  'esc\u001b[31mred',
  'del\u007f',
  'café',
  ...BAD_IN_HEADER,
];

let gw: LoggedGateway;
let redis: Redis;
let bystander: TestClient;
const opened: TestClient[] = [];

beforeAll(async () => {
  gw = await startLoggedGateway();
  redis = new Redis(inject('redisUrl'));
  ({ client: bystander } = await TestClient.session(gw.url, {
    token: await mintToken({ sub: 'bystander' }),
  }));
  bystander.send({ type: 'subscribe', channel: 'corr:bystander', ref: 's' });
  await bystander.next((f) => f.type === 'subscribed');
});

afterAll(async () => {
  for (const client of [bystander, ...opened]) client?.drop();
  redis?.disconnect();
  await gw?.stop();
});

const sockets = (transport: Transport) => endpoint({ url: gw.url, sseUrl: `${gw.http}/sse` }, transport);

async function open(transport: Transport, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.connect(sockets(transport), headers);
  opened.push(client);
  return client;
}

/** The `c` (correlation ID) field of a channel's newest stored event. */
async function storedCorrelationId(channel: string): Promise<string | undefined> {
  const [entry] = await redis.xrevrange(`${gw.prefix}:{c:${channel}}`, '+', '-', 'COUNT', 1);
  const fields = entry?.[1] ?? [];
  return fields[fields.indexOf('c') + 1];
}

function publish(channel: string, headers: Record<string, string>) {
  return fetch(`${gw.http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    body: JSON.stringify({ channel, data: 1 }),
  });
}

/** POST /publish written byte for byte (latin-1), past any client library's header checks. */
function rawPublish(channel: string, correlationId: string): Promise<string> {
  const body = JSON.stringify({ channel, data: 1 });
  const request =
    `POST /publish HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TEST_API_KEY}\r\n` +
    `x-correlation-id: ${correlationId}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(gw.gateway.port, '127.0.0.1', () => socket.write(request, 'latin1'));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      const [head, rest] = answer.split('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(head ?? '')?.[1];
      if (rest !== undefined && length !== undefined && rest.length >= Number(length)) socket.destroy();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe.each(TRANSPORTS)('correlationId in hello, over %s', (transport: Transport) => {
  it('a bad one is MALFORMED_MESSAGE; a valid one then is the session’s, intact to the stream', async () => {
    const client = await open(transport);
    const token = await mintToken({ sub: `corr-${transport}` });
    for (const bad of BAD_IN_HELLO) {
      client.send({ type: 'hello', token, correlationId: bad });
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error, JSON.stringify(bad)).toMatchObject({
        code: 'MALFORMED_MESSAGE',
        category: 'client',
        retryable: false,
      });
      expect(error.detail).toMatch(/^hello\/correlationId: /);
      expect(error.correlationId).toMatch(UUID); // the connection's own, not the refused one
    }
    expect(client.closed).toBeUndefined();

    client.send({ type: 'hello', token, correlationId: VALID });
    const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
    expect(welcome.correlationId).toBe(VALID);
    const channel = `corr:hello-${transport}`;
    client.send({ type: 'publish', channel, data: 1, ref: 'p' });
    await client.next((f) => f.type === 'ack');
    expect(await storedCorrelationId(channel)).toBe(VALID);

    // Nobody else noticed: the bystander is open and still hears its channel.
    const id = await publishHttp(gw.http, 'corr:bystander', transport);
    expect((await bystander.next((f) => f.type === 'event' && f.id === id)).type).toBe('event');
    expect(bystander.closed).toBeUndefined();
  });
});

describe.each(TRANSPORTS)('x-correlation-id on the upgrade, over %s', (transport: Transport) => {
  it('a bad one is replaced by a generated ID (or the hello’s); a valid one is kept', async () => {
    const token = await mintToken({ sub: 'corr-upgrade' });
    const welcomeWith = async (headers: Record<string, string>, hello: Record<string, unknown> = {}) => {
      const client = await open(transport, headers);
      client.send({ type: 'hello', token, ...hello });
      return (await client.next((f): f is WelcomeFrame => f.type === 'welcome')).correlationId;
    };
    for (const bad of BAD_IN_HEADER) {
      expect(await welcomeWith({ 'x-correlation-id': bad }), JSON.stringify(bad)).toMatch(UUID);
      expect(await welcomeWith({ 'x-correlation-id': bad }, { correlationId: 'from-hello' })).toBe(
        'from-hello',
      );
    }
    expect(await welcomeWith({ 'x-correlation-id': VALID })).toBe(VALID);
  });
});

describe('x-correlation-id over HTTP', () => {
  it('a valid one is answered, stored and logged intact', async () => {
    const res = await publish('corr:http', { 'x-correlation-id': VALID });
    expect(await res.json()).toMatchObject({ correlationId: VALID });
    expect(await storedCorrelationId('corr:http')).toBe(VALID);
    expect(gw.lines().find((l) => l.route === 'POST /publish' && l.correlationId === VALID)).toBeDefined();
  });

  it('a bad one is replaced by a generated ID: in the answer, the stored event and error bodies', async () => {
    for (const bad of BAD_IN_HEADER) {
      const res = await publish('corr:http', { 'x-correlation-id': bad });
      expect(res.status).toBe(200);
      const { correlationId } = (await res.json()) as { correlationId: string };
      expect(correlationId, JSON.stringify(bad)).toMatch(UUID);
      expect(await storedCorrelationId('corr:http')).toBe(correlationId);

      const refused = await fetch(`${gw.http}/publish`, {
        method: 'POST',
        headers: { 'x-correlation-id': bad },
      });
      expect(await refused.json()).toMatchObject({
        error: 'UNAUTHORIZED',
        correlationId: expect.stringMatching(UUID),
      });
      const admin = await fetch(`${gw.http}/ws/stats/detailed`, { headers: { 'x-correlation-id': bad } });
      expect(await admin.json()).toMatchObject({
        error: 'UNAUTHORIZED',
        correlationId: expect.stringMatching(UUID),
      });
    }
  });

  // Bytes as written. DEL passes uWS's parser (node's refuses it: 400); UTF-8 "café" passes both,
  // node's reading it as latin-1 text and uWS as "caf". What reaches the gateway obeys the rule.
  it.each(['del\u007fbyte', 'caf\u00c3\u00a9'])('%j sent raw is never echoed nor stored', async (raw) => {
    const answer = await rawPublish('corr:raw', raw);
    expect(answer).toMatch(/^HTTP\/1\.1 (200|400)/);
    expect(answer).not.toContain(raw);
    if (answer.startsWith('HTTP/1.1 200')) {
      const { correlationId } = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(isCorrelationId(correlationId), correlationId).toBe(true);
      expect(await storedCorrelationId('corr:raw')).toBe(correlationId);
    }
  });
});

describe('the logs', () => {
  it('carry only correlation IDs that obey the rule, and none of the refused text', () => {
    const ids = gw.lines().flatMap((l) => (typeof l.correlationId === 'string' ? [l.correlationId] : []));
    expect(ids).toContain(VALID);
    expect(ids.filter((id) => !isCorrelationId(id))).toEqual([]);
    expect(gw.output()).not.toContain('admin login ok');
  });
});
