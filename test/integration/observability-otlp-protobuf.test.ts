/**
 * The default OTLP protocol (http/protobuf, the specification's default) with
 * nothing but OTEL_EXPORTER_OTLP_ENDPOINT set. The receiver has no protobuf
 * decoder; it checks what the encoding must contain: the trace ID's 16 raw bytes
 * and the span names (protobuf stores strings as UTF-8 bytes).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTracing, startTracing } from '../../src/observability/tracing.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { callerTraceparent } from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

const received: { path: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
let collector: Server;
let gw: TestGateway;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  expect(await startTracing()).toMatchObject({ enabled: true, exporters: ['otlp'] });
  gw = await startTestGateway({ TRACE_CLIENT_CONTEXT: 'continue' }); // the caller's trace is the test's handle
});

afterAll(async () => {
  await gw?.stop();
  await activeTracing().shutdown();
  await new Promise((resolve) => collector?.close(resolve));
});

describe('OTLP/HTTP protobuf export (the default protocol)', () => {
  it('sends the connection’s spans encoded as protobuf', async () => {
    const caller = callerTraceparent();
    const { client } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'paula' }),
      traceparent: caller.traceparent,
    });
    client.send({ type: 'bye' });
    await client.waitClosed();
    await activeTracing().forceFlush();
    const traceIdBytes = Buffer.from(caller.traceId, 'hex');
    const request = await eventually(
      () => received.find((r) => r.body.includes(traceIdBytes) && r.body.includes('ws.connection')),
      'a protobuf export request with the trace',
    );
    expect(request.path).toBe('/v1/traces');
    expect(request.headers['content-type']).toBe('application/x-protobuf');
    for (const name of ['ws.upgrade', 'ws.handshake', 'ws.admission', 'tether.correlation_id'])
      expect(request.body.includes(name), name).toBe(true);
  });
});
