/**
 * Logs (issue 4, "Tests"): the gateway's own logger (createLogger), captured as
 * JSON lines at debug level. Every line about a connection carries its correlation
 * ID, connection ID and trace ID — also lines written outside any span — and no
 * secret ever appears: not the client's token, the resume token, or an API key.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { eventually, settle, sleep } from '../support/events.ts';
import { mintToken, TEST_API_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { callerTraceparent, only, traceToMemory, waitForSpans } from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

let exporter: InMemorySpanExporter;
let gw: LoggedGateway;

beforeAll(async () => {
  exporter = await traceToMemory();
  gw = await startLoggedGateway({ TRACE_CLIENT_CONTEXT: 'continue' }); // the caller's trace is the test's handle
});
afterAll(() => gw?.stop());

describe('log lines of a connection', () => {
  it('carry its correlation ID, connection ID and trace ID, inside spans and outside them', async () => {
    const caller = callerTraceparent();
    const correlationId = `log-${randomUUID()}`;
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'lola' }),
      traceparent: caller.traceparent,
      correlationId,
    });
    client.send('{not json'); // a client error, logged from the socket callback: no span is active
    await client.next((f) => f.type === 'error');
    client.send({ type: 'bye' });
    await client.waitClosed();
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection']);

    const ours = gw.lines().filter((line) => line.connectionId === welcome.connectionId);
    const ready = ours.find((line) => line.msg === 'session ready');
    const clientError = ours.find((line) => line.msg === 'client error');
    expect(ready, 'session ready').toBeDefined();
    expect(clientError, 'client error').toBeDefined();
    for (const line of ours) {
      expect(line.correlationId, line.msg).toBe(correlationId);
      expect(line.trace_id, line.msg).toBe(caller.traceId);
    }
    // Outside any span, a line points at the connection's own span.
    expect(clientError?.span_id).toBe(only(spans, 'ws.connection').spanContext().spanId);
    expect(clientError).toMatchObject({ code: 'MALFORMED_MESSAGE' });
  });
});

describe('sockets the edge cut', () => {
  it('are logged with the code they were counted under, though no frame could tell the client', async () => {
    const { client, welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'lulu' }) });
    // Over 4× MAX_MESSAGE_BYTES: the uWS edge drops the socket before the frame is read
    // (the ws edge reads it and answers MESSAGE_TOO_LARGE/1009: logged either way).
    client.send('x'.repeat(4 * 65_536 + 1));
    await client.waitClosed();
    const cut = () =>
      gw
        .lines()
        .find((line) => line.connectionId === welcome.connectionId && line.code === 'MESSAGE_TOO_LARGE');
    await eventually(cut, 'the log line of the cut');
    expect(cut()?.msg).toMatch(/^client error/);
  });
});

describe('requests their client abandoned', () => {
  it('a backend gone mid-body leaves an info line, never an error or a stack', async () => {
    const correlationId = `abort-${randomUUID()}`;
    const socket = connect(Number(new URL(gw.http).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /users/someone/block HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TEST_API_KEY}\r\n` +
        `x-correlation-id: ${correlationId}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"reason":`,
    );
    await sleep(100);
    socket.destroy(); // 90 bytes of the body never come
    const lines = () => gw.lines().filter((line) => line.correlationId === correlationId);
    await eventually(() => lines().length > 0, 'a line about the abandoned request');
    expect(lines().map((line) => [line.level, line.msg])).toEqual([[30, 'backend request aborted']]);
  });
});

describe('secrets in logs', () => {
  it('neither the token, nor the resume token, nor an API key ever appears', async () => {
    const token = await mintToken({ sub: 'sam' });
    const first = await TestClient.session(gw.url, { token });
    first.client.drop();
    await first.client.waitClosed();
    const resumed = await TestClient.session(gw.url, {
      token,
      resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken },
    });
    expect(resumed.welcome.resumed).toBe(true);
    await settle(resumed.client);
    // Refused hellos log the rejection: still without the presented token.
    const forged = `${token.slice(0, -4)}AAAA`;
    const refused = await TestClient.connect(gw.url);
    refused.send({ type: 'hello', token: forged });
    await refused.waitClosed();
    await fetch(`${gw.http}/ws/stats/detailed`, {
      headers: { authorization: 'Bearer not-the-admin-key-at-all' },
    });
    // A backend publish with the real API key, and one with a wrong key (both logged).
    const published = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'x-correlation-id': 'log-publish' },
      body: JSON.stringify({ channel: 'logs:secrets', data: { n: 1 } }),
    });
    expect(published.status).toBe(200);
    const refusedPublish = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: { 'x-api-key': 'not-a-publish-key-either' },
      body: '{}',
    });
    expect(refusedPublish.status).toBe(401);
    resumed.client.close();

    const output = gw.output();
    expect(output).toContain('hello rejected');
    expect(output).toContain('admin request denied');
    expect(output).toContain('log-publish'); // the publish was logged…
    expect(gw.lines().some((l) => l.route === 'POST /publish' && l.status === 401)).toBe(true);
    for (const secret of [
      token,
      forged,
      first.welcome.resumeToken,
      TEST_API_KEY, // …without its key
      'not-the-admin-key-at-all',
      'not-a-publish-key-either',
    ])
      expect(output.includes(secret), `a secret (${secret.slice(0, 8)}…) leaked into the logs`).toBe(false);
  });

  it('redacts secrets wherever they sit in a logged object', () => {
    const captured: string[] = [];
    const logger = createLogger('info', 'n', {
      destination: { write: (line: string) => captured.push(line) },
    });
    logger.info(
      { token: 't-1', hello: { token: 't-2', resume: { resumeToken: 't-3' } }, apiKey: 'k-1' },
      'x',
    );
    logger.info({ headers: { authorization: 'Bearer k-2' } }, 'y');
    logger.info({ frame: { hello: { token: 't-4' } } }, 'nested frame');
    logger.info(
      { req: { headers: { authorization: 'Bearer k-3', 'x-api-key': 'k-4', cookie: 'sid=c-1' } } },
      'req',
    );
    logger.info({ config: { adminApiKey: 'k-5', publishApiKeys: ['k-6', 'k-7'] } }, 'config');
    logger.info({ list: [{ deep: { deeper: { resumeToken: 't-5' } } }] }, 'array');
    // An HTTP client's error keeps the request config, headers included.
    const failure = Object.assign(new Error('request failed'), {
      config: { url: 'https://backend', headers: { authorization: 'Bearer k-8' } },
    });
    logger.error({ err: failure }, 'upstream failed');
    logger.error(failure);
    const output = captured.join('');
    for (const secret of [
      't-1',
      't-2',
      't-3',
      't-4',
      't-5',
      'k-1',
      'k-2',
      'k-3',
      'k-4',
      'k-5',
      'k-6',
      'k-7',
      'k-8',
      'c-1',
    ])
      expect(output, secret).not.toContain(secret);
    expect(output).toContain('[redacted]');
    // What is not secret survives, errors keep their shape.
    const lines = captured.map((line) => JSON.parse(line));
    const upstream = lines.find((line) => line.msg === 'upstream failed');
    expect(upstream.err).toMatchObject({
      type: 'Error',
      message: 'request failed',
      config: { url: 'https://backend', headers: { authorization: '[redacted]' } },
    });
    expect(upstream.err.stack).toContain('request failed');
    expect(lines.find((line) => line.msg === 'request failed')?.err?.config?.headers?.authorization).toBe(
      '[redacted]',
    );
    expect(failure.config.headers.authorization).toBe('Bearer k-8'); // the logged object is not changed
  });
});

describe('a rejected hello', () => {
  it('is one short info line: its code and the reason, no stack, none of the token’s claims', async () => {
    const sub = `claims-${randomUUID()}`; // personal data, as far as the log knows
    const client = await TestClient.connect(gw.url);
    client.send({ type: 'hello', token: await mintToken({ sub, expiresIn: '10 s ago' }) });
    await client.waitClosed();
    const line = await eventually(
      () => gw.lines().find((l) => l.msg === 'hello rejected' && l.code === 'AUTH_TOKEN_EXPIRED'),
      'the hello rejected line',
    );
    expect(line).toMatchObject({ level: 30, reason: expect.stringContaining('exp') });
    expect(line).not.toHaveProperty('err');
    expect(JSON.stringify(line)).not.toContain(sub);
    expect(JSON.stringify(line)).not.toContain('    at ');
  });
});

describe('lines about no connection', () => {
  it('have no trace fields when no span is active', () => {
    const captured: string[] = [];
    const logger = createLogger('info', 'n', {
      destination: { write: (line: string) => captured.push(line) },
    });
    logger.info('no span is active here');
    expect(JSON.parse(captured[0] as string)).not.toHaveProperty('trace_id');
  });
});
