/**
 * The wire path, not just the SDK: tracing configured only by OTEL_* variables,
 * as an operator would, sends OTLP/HTTP (JSON encoding) to a collector — here a
 * small receiver in the test that decodes each export request and finds the spans.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTracing, startTracing } from '../../src/observability/tracing.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { callerTraceparent } from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface ExportRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

const received: { path: string; headers: IncomingHttpHeaders; body: ExportRequest }[] = [];
let collector: Server;
let gw: TestGateway;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  // Exactly what an operator sets; no exporter is passed in code.
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
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
  await new Promise((resolve) => collector?.close(resolve));
});

const attribute = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value;

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
      const found = received.flatMap((r) =>
        r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
      );
      const ours = found.filter((span) => span.traceId === caller.traceId);
      return ours.some((span) => span.name === 'ws.connection') ? ours : undefined;
    }, 'ws.connection at the collector');

    expect(received[0]?.path).toBe('/v1/traces');
    expect(received[0]?.headers['content-type']).toContain('application/json');
    expect(spans.map((span) => span.name).sort()).toEqual([
      'ws.admission',
      'ws.connection',
      'ws.handshake',
      'ws.upgrade',
    ]);
    const connection = spans.find((span) => span.name === 'ws.connection') as OtlpSpan;
    expect(connection.parentSpanId).toBe(caller.spanId);
    expect(attribute(connection, 'tether.connection_id')?.stringValue).toBe(welcome.connectionId);
    for (const span of spans)
      expect(attribute(span, 'tether.correlation_id')?.stringValue).toBe(welcome.correlationId);

    const resource = received.find((r) => r.body.resourceSpans.length > 0)?.body.resourceSpans[0]?.resource;
    const serviceName = resource?.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
    expect(serviceName).toBe('tether-otlp-test'); // OTEL_SERVICE_NAME wins over our default
  });
});
