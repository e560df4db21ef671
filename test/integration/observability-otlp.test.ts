/**
 * The wire path, not just the SDK: tracing configured only by OTEL_* variables,
 * as an operator would, sends OTLP/HTTP (JSON encoding) to a collector — here a
 * small receiver in the test that decodes each export request and finds the spans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTracing, startTracing } from '../../src/observability/tracing.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { callerTraceparent, type OtlpReceiver, otlpAttribute, startOtlpReceiver } from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

let collector: OtlpReceiver;
let gw: TestGateway;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  // Exactly what an operator sets; no exporter is passed in code.
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'tether-otlp-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const tracing = await startTracing();
  expect(tracing).toMatchObject({ enabled: true, exporters: ['otlp'] });
  gw = await startTestGateway({ TRACE_CLIENT_CONTEXT: 'continue' }); // the caller's trace is the test's handle
});

afterAll(async () => {
  await gw?.stop();
  await activeTracing().shutdown();
  await collector?.close();
});

describe('OTLP/HTTP export', () => {
  it('delivers the connection’s spans, with their parentage and attributes, to the collector', async () => {
    const caller = callerTraceparent();
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'otto' }),
      traceparent: caller.traceparent,
    });
    client.send({ type: 'bye' });
    await client.waitClosed();
    await activeTracing().forceFlush();

    const spans = await eventually(() => {
      const ours = collector.spans().filter((span) => span.traceId === caller.traceId);
      return ours.some((span) => span.name === 'ws.connection') ? ours : undefined;
    }, 'ws.connection at the collector');

    expect(collector.requests[0]?.path).toBe('/v1/traces');
    expect(collector.requests[0]?.headers['content-type']).toContain('application/json');
    expect(spans.map((span) => span.name).sort()).toEqual([
      'ws.admission',
      'ws.connection',
      'ws.handshake',
      'ws.upgrade',
    ]);
    const connection = spans.find((span) => span.name === 'ws.connection');
    expect(connection?.parentSpanId).toBe(caller.spanId);
    expect(connection && otlpAttribute(connection, 'tether.connection_id')?.stringValue).toBe(
      welcome.connectionId,
    );
    for (const span of spans)
      expect(otlpAttribute(span, 'tether.correlation_id')?.stringValue).toBe(welcome.correlationId);
    expect(connection?.serviceName).toBe('tether-otlp-test'); // OTEL_SERVICE_NAME wins over our default
  });
});
