/**
 * Traces (issue 4, "Tests"): the real SDK exporting to memory sees one trace per
 * connection with the documented span tree, the correlation ID on every span, the
 * caller's traceparent continued (upgrade header or hello field) by a gateway that
 * trusts its clients (TRACE_CLIENT_CONTEXT=continue) and linked by one that does
 * not (the default), resume and replay described, a backend publish followed to
 * its delivery, and a client action followed through BullMQ and a worker to its
 * reply — one trace ID. Sampling against untrusted clients: observability-sampling.
 */
import { randomUUID } from 'node:crypto';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import { connectionTrace } from '../../src/observability/connection-trace.ts';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually, publishMany } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import {
  callerTraceparent,
  only,
  parentIdOf,
  spanIdOf,
  spansInTrace,
  traceIdOf,
  traceToMemory,
  treeOf,
  waitForSpans,
} from '../support/spans.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

let exporter: InMemorySpanExporter;
let gw: TestGateway;
let worker: ActionWorker;

beforeAll(async () => {
  exporter = await traceToMemory();
  gw = await startTestGateway({ TRACE_CLIENT_CONTEXT: 'continue' });
  worker = startActionWorker({
    redisUrl: gw.redisUrl,
    prefix: gw.prefix,
    handlers: {
      echo: (data) => data,
      explode: () => {
        throw new Error('the handler failed');
      },
    },
  });
});
afterAll(async () => {
  await worker?.close();
  await gw?.stop();
});

const eventNames = (span: ReadableSpan) => span.events.map((event) => event.name);

function expectCorrelationOnEvery(spans: ReadableSpan[], correlationId: string): void {
  for (const span of spans) expect(span.attributes['tether.correlation_id'], span.name).toBe(correlationId);
}

describe('a connection is one trace', () => {
  it('continues the hello traceparent: upgrade, handshake, admission, with state transitions as events', async () => {
    const caller = callerTraceparent();
    const correlationId = `corr-${randomUUID()}`;
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'tracy', tier: 'pro' }),
      traceparent: caller.traceparent,
      correlationId,
    });
    expect(welcome.correlationId).toBe(correlationId);
    client.send({ type: 'bye' }); // a graceful end: the session closes
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection']);

    expect(treeOf(spans)).toBe(
      ['ws.connection', '  ws.upgrade', '    ws.handshake', '      ws.admission'].join('\n'),
    );
    const connection = only(spans, 'ws.connection');
    expect(parentIdOf(connection)).toBe(caller.spanId); // the caller's span is the parent
    expect(connection.attributes).toMatchObject({
      'tether.connection_id': welcome.connectionId,
      'tether.session_id': welcome.sessionId,
      'enduser.id': 'tracy',
      'network.peer.address': '127.0.0.1',
      'tether.close.code': 1000,
      'tether.close.reason': 'bye',
    });
    expect(eventNames(connection)).toEqual(
      expect.arrayContaining(['state.connecting', 'state.connected', 'ws.closed', 'state.closed']),
    );
    expect(only(spans, 'ws.handshake').attributes).toMatchObject({
      'enduser.id': 'tracy',
      'tether.tier': 'pro',
    });
    expect(only(spans, 'ws.admission').attributes).toMatchObject({ 'tether.admission.result': 'granted' });
    expectCorrelationOnEvery(spans, correlationId);
  });

  it('continues a traceparent sent as an upgrade header, with x-correlation-id', async () => {
    const caller = callerTraceparent();
    const correlationId = `hdr-${randomUUID()}`;
    const client = await TestClient.connect(gw.url, {
      traceparent: caller.traceparent,
      'x-correlation-id': correlationId,
    });
    client.send({ type: 'hello', token: await mintToken({ sub: 'hedy' }) });
    await client.next((f): f is WelcomeFrame => f.type === 'welcome');
    client.close();
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection', 'ws.handshake']);
    expect(parentIdOf(only(spans, 'ws.connection'))).toBe(caller.spanId);
    expectCorrelationOnEvery(spans, correlationId);
  });

  it('by default a client traceparent is linked, not continued: our own trace, sampled by us', async () => {
    const untrusting = await startTestGateway();
    try {
      const caller = callerTraceparent();
      const { client, welcome } = await TestClient.session(untrusting.url, {
        token: await mintToken({ sub: 'lin' }),
        traceparent: caller.traceparent,
      });
      client.send({ type: 'bye' });
      const connection = only(
        spansInTrace(exporter, await traceIdOfConnection(welcome.connectionId)),
        'ws.connection',
      );
      expect(traceIdOf(connection)).not.toBe(caller.traceId);
      expect(connection.parentSpanContext).toBeUndefined(); // a root
      expect(connection.links.map((link) => link.context)).toMatchObject([
        { traceId: caller.traceId, spanId: caller.spanId },
      ]);
      expect(spansInTrace(exporter, caller.traceId)).toEqual([]);
    } finally {
      await untrusting.stop();
    }
  });

  it('a connection refused at hello still leaves its trace, marked as an error', async () => {
    const caller = callerTraceparent();
    const client = await TestClient.connect(gw.url);
    client.send({ type: 'hello', token: 'not-a-jwt', traceparent: caller.traceparent });
    await client.waitClosed();
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection', 'ws.upgrade']);
    const upgrade = only(spans, 'ws.upgrade');
    expect(upgrade.status.code).toBe(2); // ERROR
    expect(upgrade.attributes['error.type']).toBe('AUTH_INVALID_TOKEN');
    const connection = only(spans, 'ws.connection');
    expect(connection.events.find((e) => e.name === 'tether.error')?.attributes).toMatchObject({
      'tether.error.code': 'AUTH_INVALID_TOKEN',
      'tether.error.category': 'connection',
    });
    expect(eventNames(connection)).toContain('state.failed');
  });
});

describe('a connection closed for a fault', () => {
  /** A session traced under the caller's trace: `act` ends it; its ws.connection span. */
  const closedBy = async (sub: string, act: (client: TestClient) => Promise<void>) => {
    const caller = callerTraceparent();
    const { client } = await TestClient.session(gw.url, {
      token: await mintToken({ sub }),
      traceparent: caller.traceparent,
    });
    await act(client);
    await client.waitClosed();
    return only(await waitForSpans(exporter, caller.traceId, ['ws.connection']), 'ws.connection');
  };

  it('by the client’s own fault (MESSAGE_TOO_LARGE, 1009): error.type, the status left unset', async () => {
    const connection = await closedBy('large', async (client) =>
      client.send({ type: 'publish', channel: 'big:1', data: 'x'.repeat(70 * 1024), ref: 'big' }),
    );
    expect(connection.attributes).toMatchObject({
      'error.type': 'MESSAGE_TOO_LARGE',
      'tether.close.code': 1009,
    });
    expect(connection.status.code).toBe(0); // UNSET
  });

  it('refused by the gateway (AUTH_REFRESH_REJECTED, 4004): error.type and an ERROR status', async () => {
    const connection = await closedBy('owner', async (client) =>
      client.send({ type: 'refresh', ref: 'r', token: await mintToken({ sub: 'intruder' }) }),
    );
    expect(connection.attributes).toMatchObject({
      'error.type': 'AUTH_REFRESH_REJECTED',
      'tether.close.code': 4004,
    });
    expect(connection.status).toMatchObject({ code: 2, message: 'AUTH_REFRESH_REJECTED' });
  });

  it('but not a goodbye: no error.type, no status', async () => {
    const connection = await closedBy('leaver', async (client) => client.send({ type: 'bye' }));
    expect(connection.attributes).not.toHaveProperty('error.type');
    expect(connection.status.code).toBe(0);
  });
});

describe('what ws.connection records about its caller', () => {
  it('the upgrade tracestate rides with its traceparent, continued or linked; peer and client addresses', async () => {
    const caller = callerTraceparent();
    for (const policy of ['continue', 'link'] as const) {
      const connection = connectionTrace(
        {
          connectionId: `direct-${policy}`,
          transport: 'websocket',
          path: '/ws',
          peerAddress: '10.0.0.2', // the proxy
          clientAddress: '203.0.113.9', // from its X-Forwarded-For
          userAgent: 'test',
          traceparent: caller.traceparent,
          tracestate: 'vendor=abc',
        },
        'corr-direct',
        policy,
        true,
      );
      connection.helloReceived('corr-direct');
      connection.closed(1000, 'bye');
    }
    const ended = (id: string) =>
      only(
        exporter.getFinishedSpans().filter((s) => s.attributes['tether.connection_id'] === id),
        'ws.connection',
      );
    const continued = ended('direct-continue');
    expect(parentIdOf(continued)).toBe(caller.spanId);
    expect(continued.spanContext().traceState?.get('vendor')).toBe('abc');
    expect(continued.attributes).toMatchObject({
      'network.peer.address': '10.0.0.2',
      'client.address': '203.0.113.9',
    });
    const linked = ended('direct-link');
    expect(linked.links[0]?.context.traceState?.get('vendor')).toBe('abc');
  });
});

describe('the upgrade, through the gateway', () => {
  it('behind a trusted proxy: the socket peer and the forwarded client apart, the tracestate kept', async () => {
    const proxied = await startTestGateway({
      TRACE_CLIENT_CONTEXT: 'continue',
      TRUSTED_PROXIES: '127.0.0.1',
    });
    try {
      const caller = callerTraceparent();
      const client = await TestClient.connect(proxied.url, {
        'x-forwarded-for': '203.0.113.9',
        traceparent: caller.traceparent,
        tracestate: 'vendor=abc',
      });
      client.send({ type: 'hello', token: await mintToken({ sub: 'proxied' }) });
      const welcome = (await client.next((f) => f.type === 'welcome')) as WelcomeFrame;
      client.close();
      await client.waitClosed();
      const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection']);
      const connection = only(spans, 'ws.connection');
      expect(connection.attributes).toMatchObject({
        'network.peer.address': '127.0.0.1',
        'client.address': '203.0.113.9',
      });
      expect(connection.attributes['tether.connection_id']).toBe(welcome.connectionId);
      expect(connection.spanContext().traceState?.get('vendor')).toBe('abc');
      expect(parentIdOf(connection)).toBe(caller.spanId);
    } finally {
      await proxied.stop();
    }
  });
});

describe.each(TRANSPORTS)('ws.connection over %s', (transport: Transport) => {
  it('names the transport the client used: its path and protocol', async () => {
    const caller = callerTraceparent();
    const { client } = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'porter' }),
      traceparent: caller.traceparent,
    });
    client.send({ type: 'bye' });
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.connection']);
    expect(only(spans, 'ws.connection').attributes).toMatchObject(
      transport === 'sse'
        ? { 'url.path': '/sse', 'network.protocol.name': 'http' }
        : { 'url.path': '/ws', 'network.protocol.name': 'websocket' },
    );
  });

  it('carries user_agent.original only when the client sent a User-Agent', async () => {
    const attributesWith = async (headers: Record<string, string>) => {
      const caller = callerTraceparent();
      const client = await TestClient.connect(endpoint(gw, transport), headers);
      client.send({
        type: 'hello',
        token: await mintToken({ sub: 'agent' }),
        traceparent: caller.traceparent,
      });
      await client.next((f) => f.type === 'welcome');
      client.send({ type: 'bye' });
      return only(await waitForSpans(exporter, caller.traceId, ['ws.connection']), 'ws.connection')
        .attributes;
    };
    expect((await attributesWith({ 'user-agent': 'probe/1.0' }))['user_agent.original']).toBe('probe/1.0');
    expect(await attributesWith({ 'user-agent': '' })).not.toHaveProperty('user_agent.original');
  });
});

describe('resume is traced', () => {
  it('session.resume says resumed, recovered and how many events were replayed', async () => {
    const token = await mintToken({ sub: 'rosa' });
    const channel = `trace:${randomUUID().slice(0, 8)}`;
    const first = await TestClient.session(gw.url, { token });
    first.client.send({ type: 'subscribe', channel, ref: 's' });
    await first.client.next((f) => f.type === 'subscribed');
    first.client.drop();
    await first.client.waitClosed();
    await publishMany(gw.http, channel, 5);

    const caller = callerTraceparent();
    const second = await TestClient.session(gw.url, {
      token,
      traceparent: caller.traceparent,
      resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken },
    });
    await second.client.waitForEvents(5, channel);
    const spans = await waitForSpans(exporter, caller.traceId, ['session.resume']);
    const resume = only(spans, 'session.resume');
    expect(parentIdOf(resume)).toBe(spanIdOf(only(spans, 'ws.handshake')));
    expect(resume.attributes).toMatchObject({
      'tether.resumed': true,
      'tether.recovered': true,
      'tether.replayed': 5,
      'tether.session_id': first.welcome.sessionId,
    });
    expectCorrelationOnEvery(spans, second.welcome.correlationId);
    // The session's actor moved between the two sockets' traces: lost on one, resumed on the other.
    const dropped = spansInTrace(exporter, await traceIdOfConnection(first.welcome.connectionId));
    expect(eventNames(only(dropped, 'ws.connection'))).toContain('state.reconnecting');
    second.client.send({ type: 'bye' });
    const resumed = await waitForSpans(exporter, caller.traceId, ['ws.connection']);
    expect(eventNames(only(resumed, 'ws.connection'))).toEqual(
      expect.arrayContaining(['state.connected', 'state.closed']),
    );
  });
});

describe('backend publish → delivery', () => {
  it('POST /publish continues the caller’s trace; its fan-out is a child span linked to it', async () => {
    const channel = `trace:${randomUUID().slice(0, 8)}`;
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'pia' }) });
    client.send({ type: 'subscribe', channel, ref: 's' });
    await client.next((f) => f.type === 'subscribed');
    const caller = callerTraceparent();
    const res = await fetch(`${gw.http}/publish`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        traceparent: caller.traceparent,
        tracestate: 'vendor=abc',
        'x-correlation-id': 'backend-42',
      },
      body: JSON.stringify({ channel, data: { n: 1 } }),
    });
    const published = (await res.json()) as { id: string; correlationId: string };
    expect(published.correlationId).toBe('backend-42');
    await client.waitForEvents(1, channel);
    const spans = await waitForSpans(exporter, caller.traceId, ['POST /publish', 'channel.deliver']);
    const publish = only(spans, 'POST /publish');
    const deliver = only(spans, 'channel.deliver');
    expect(parentIdOf(publish)).toBe(caller.spanId);
    expect(parentIdOf(deliver)).toBe(spanIdOf(publish));
    // The messaging conventions' creation-context link, and the caller's tracestate kept.
    expect(deliver.links.map((link) => link.context.spanId)).toEqual([spanIdOf(publish)]);
    expect(deliver.spanContext().traceState?.get('vendor')).toBe('abc');
    expect(publish.attributes).toMatchObject({
      'http.response.status_code': 200,
      'network.peer.address': '127.0.0.1',
      'client.address': '127.0.0.1',
    });
    expect(deliver.attributes).toMatchObject({
      'messaging.destination.name': channel,
      'messaging.message.id': published.id,
      'tether.subscribers': 1,
    });
    expectCorrelationOnEvery(spans, 'backend-42');
    client.close();
  });

  it('events appended without a sampled trace are delivered without any span', async () => {
    const channel = `quiet:${randomUUID().slice(0, 8)}`;
    const { client } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'quinn', publish: ['quiet:*'] }),
    });
    client.send({ type: 'subscribe', channel, ref: 's' });
    await client.next((f) => f.type === 'subscribed');
    const before = exporter.getFinishedSpans().length;
    client.send({ type: 'publish', channel, data: { n: 1 }, ref: 'p' }); // a client publish: no span
    await client.waitForEvents(1, channel);
    const delivered = exporter
      .getFinishedSpans()
      .slice(before)
      .filter(
        (span) =>
          span.name === 'channel.deliver' && span.attributes['messaging.destination.name'] === channel,
      );
    expect(delivered).toEqual([]);
    client.close();
  });
});

describe('client action → BullMQ → worker → reply', () => {
  it('is one trace: ws.action, the job add, the worker process, the reply delivery', async () => {
    const caller = callerTraceparent();
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'ada' }),
      traceparent: caller.traceparent,
    });
    client.send({ type: 'action', ref: 'a1', name: 'echo', data: { hello: 'world' } });
    const reply = await client.next((f) => f.type === 'reply' && f.ref === 'a1', 10_000);
    expect(reply).toMatchObject({ ok: true, data: { hello: 'world' } });
    client.close();

    const spans = await waitForSpans(exporter, caller.traceId, [
      'ws.connection',
      'ws.action',
      'add actions.echo',
      'process actions',
      'channel.deliver',
    ]);
    const connection = only(spans, 'ws.connection');
    const action = only(spans, 'ws.action');
    const add = only(spans, 'add actions.echo');
    const processed = only(spans, 'process actions');
    const deliver = only(spans, 'channel.deliver');
    expect(parentIdOf(action)).toBe(spanIdOf(connection));
    expect(parentIdOf(add)).toBe(spanIdOf(action));
    expect(parentIdOf(processed)).toBe(spanIdOf(add));
    expect(parentIdOf(deliver)).toBe(spanIdOf(processed));
    expect(new Set(spans.map(traceIdOf))).toEqual(new Set([caller.traceId]));
    expect(action.attributes).toMatchObject({ 'tether.action.name': 'echo', 'tether.action.ref': 'a1' });
    expectCorrelationOnEvery(spans, welcome.correlationId);
  });
});

describe('a failed action', () => {
  it.each([
    ['explode', 'ACTION_FAILED'],
    ['no-such-action', 'UNKNOWN_ACTION'],
  ])('%s: answered ok: false, and the worker’s process span is an error (%s)', async (name, code) => {
    const caller = callerTraceparent();
    const { client } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'fay' }),
      traceparent: caller.traceparent,
    });
    client.send({ type: 'action', ref: 'f1', name });
    const reply = await client.next((f) => f.type === 'reply' && f.ref === 'f1', 10_000);
    expect(reply).toMatchObject({ ok: false, error: { code } });
    client.close();
    const spans = await waitForSpans(exporter, caller.traceId, ['ws.action', 'process actions']);
    const processed = only(spans, 'process actions');
    expect(processed.status).toMatchObject({ code: 2, message: code }); // ERROR
    expect(processed.attributes['error.type']).toBe(code);
  });
});

describe('tracing stays off the hot path', () => {
  it('a burst of channel traffic adds no span', async () => {
    const channel = `burst:${randomUUID().slice(0, 8)}`;
    const { client, welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'bo' }) });
    client.send({ type: 'subscribe', channel, ref: 's' });
    await client.next((f) => f.type === 'subscribed');
    for (let i = 0; i < 50; i++) client.send({ type: 'publish', channel, data: { i }, ref: `p${i}` });
    await client.waitForEvents(50, channel);
    client.close();
    const spans = spansInTrace(exporter, await traceIdOfConnection(welcome.connectionId));
    // upgrade, handshake, admission and the connection itself — nothing per frame or per event.
    expect(spans.map((s) => s.name).sort()).toEqual([
      'ws.admission',
      'ws.connection',
      'ws.handshake',
      'ws.upgrade',
    ]);
  });
});

/** The trace of the socket with this connection ID, once its ws.connection span has ended. */
async function traceIdOfConnection(connectionId: string): Promise<string> {
  const connection = await eventually(
    () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'ws.connection' && s.attributes['tether.connection_id'] === connectionId),
    `ws.connection of ${connectionId}`,
  );
  return traceIdOf(connection);
}
