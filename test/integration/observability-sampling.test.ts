/**
 * Sampling cannot be forced by a client. With `parentbased_traceidratio` at 0
 * (nothing we start is sampled), a client that sends a sampled `traceparent`
 * (`…-01`) in hello or as an upgrade header gets nothing recorded under the
 * default TRACE_CLIENT_CONTEXT=link — not its connection, not its action's job and
 * worker spans. With TRACE_CLIENT_CONTEXT=continue (trusted clients) the same
 * request joins the caller's trace and follows its sampled flag.
 */
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import type { WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import {
  callerTraceparent,
  only,
  parentIdOf,
  spansInTrace,
  traceToMemory,
  waitForSpans,
} from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

let exporter: InMemorySpanExporter;
let untrusting: TestGateway;
let trusting: TestGateway;
let worker: ActionWorker;

beforeAll(async () => {
  // Read by the SDK when the provider is built: root spans are never sampled.
  process.env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
  process.env.OTEL_TRACES_SAMPLER_ARG = '0';
  exporter = await traceToMemory();
  untrusting = await startTestGateway(); // TRACE_CLIENT_CONTEXT defaults to link
  // Same Redis prefix: one worker serves both gateways' action queues.
  trusting = await startTestGateway({ TRACE_CLIENT_CONTEXT: 'continue', REDIS_PREFIX: untrusting.prefix });
  worker = startActionWorker({
    redisUrl: untrusting.redisUrl,
    prefix: untrusting.prefix,
    handlers: { echo: (data) => data },
  });
});
afterAll(async () => {
  await worker?.close();
  await trusting?.stop();
  await untrusting?.stop();
  delete process.env.OTEL_TRACES_SAMPLER;
  delete process.env.OTEL_TRACES_SAMPLER_ARG;
});

/** A session whose client sent a sampled traceparent in hello, ran one action and said bye. */
async function sampledCallerWithAction(gw: TestGateway) {
  const caller = callerTraceparent();
  const { client, welcome } = await TestClient.session(gw.url, {
    token: await mintToken({ sub: 'sly' }),
    traceparent: caller.traceparent,
  });
  client.send({ type: 'action', ref: 'a1', name: 'echo', data: { n: 1 } });
  expect(await client.next((f) => f.type === 'reply' && f.ref === 'a1', 10_000)).toMatchObject({ ok: true });
  client.send({ type: 'bye' });
  await client.waitClosed();
  return { caller, welcome };
}

/** Spans that could belong to this connection, whatever their trace. */
function spansOfConnection(connectionId: string, correlationId: string) {
  return exporter
    .getFinishedSpans()
    .filter(
      (span) =>
        span.attributes['tether.connection_id'] === connectionId ||
        span.attributes['tether.correlation_id'] === correlationId,
    );
}

describe('TRACE_CLIENT_CONTEXT=link (default): a client cannot force sampling', () => {
  it('a sampled hello traceparent records nothing: no connection, action, job or worker span', async () => {
    const { caller, welcome } = await sampledCallerWithAction(untrusting);
    // A trusted connection run after it is recorded: by then the first one's spans would be too.
    const control = await sampledCallerWithAction(trusting);
    await waitForSpans(exporter, control.caller.traceId, ['ws.connection', 'process actions']);

    expect(spansInTrace(exporter, caller.traceId)).toEqual([]);
    expect(spansOfConnection(welcome.connectionId, welcome.correlationId)).toEqual([]);
  });

  it('a sampled traceparent upgrade header records nothing either', async () => {
    const caller = callerTraceparent();
    const client = await TestClient.connect(untrusting.url, { traceparent: caller.traceparent });
    client.send({ type: 'hello', token: await mintToken({ sub: 'hal' }) });
    const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
    client.close();
    await client.waitClosed();
    const control = await sampledCallerWithAction(trusting);
    await waitForSpans(exporter, control.caller.traceId, ['ws.connection']);

    expect(spansInTrace(exporter, caller.traceId)).toEqual([]);
    expect(spansOfConnection(welcome.connectionId, welcome.correlationId)).toEqual([]);
  });
});

describe('TRACE_CLIENT_CONTEXT=continue: trusted clients decide', () => {
  it('joins the caller’s sampled trace, down to the worker', async () => {
    const { caller } = await sampledCallerWithAction(trusting);
    const spans = await waitForSpans(exporter, caller.traceId, [
      'ws.connection',
      'ws.action',
      'add actions.echo',
      'process actions',
    ]);
    expect(parentIdOf(only(spans, 'ws.connection'))).toBe(caller.spanId);
  });

  it('an unsampled caller (…-00) is not recorded', async () => {
    const caller = callerTraceparent();
    const { client, welcome } = await TestClient.session(trusting.url, {
      token: await mintToken({ sub: 'una' }),
      traceparent: caller.traceparent.replace(/-01$/, '-00'),
    });
    client.send({ type: 'bye' });
    await client.waitClosed();
    const control = await sampledCallerWithAction(trusting);
    await eventually(
      () => spansInTrace(exporter, control.caller.traceId).some((s) => s.name === 'ws.connection'),
      'the control connection',
    );
    expect(spansOfConnection(welcome.connectionId, welcome.correlationId)).toEqual([]);
  });
});
