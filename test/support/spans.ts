/**
 * Tracing in tests: the real SDK (our startTracing, with its correlation-ID
 * processor) exporting to memory, helpers to read the span tree it saw, and a
 * small OTLP/HTTP receiver for what crosses the wire (other processes' spans).
 * Register once per test file, before the gateway starts (each file runs in its
 * own worker, so the global tracer provider is the file's own).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '../../src/observability/tracing.ts';
import { eventually } from './events.ts';

export async function traceToMemory(): Promise<InMemorySpanExporter> {
  const exporter = new InMemorySpanExporter();
  const tracing = await startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  if (!tracing.enabled) throw new Error('tracing did not start');
  return exporter;
}

/** A caller's W3C traceparent (sampled) with fresh IDs. */
export function callerTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

export const traceIdOf = (span: ReadableSpan) => span.spanContext().traceId;
export const spanIdOf = (span: ReadableSpan) => span.spanContext().spanId;
export const parentIdOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

export function spansInTrace(exporter: InMemorySpanExporter, traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => traceIdOf(span) === traceId);
}

/** Wait until the trace holds every named span (spans are exported as they end). */
export function waitForSpans(
  exporter: InMemorySpanExporter,
  traceId: string,
  names: string[],
  timeoutMs = 10_000,
): Promise<ReadableSpan[]> {
  return eventually(
    () => {
      const spans = spansInTrace(exporter, traceId);
      return names.every((name) => spans.some((span) => span.name === name)) ? spans : undefined;
    },
    `spans ${names.join(', ')} in trace ${traceId}`,
    timeoutMs,
  );
}

export function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${name} span, found ${found.length} in [${spans.map((s) => s.name).join(', ')}]`,
    );
  }
  return found[0] as ReadableSpan;
}

/** Span names, each indented under its parent: readable when a tree assertion fails. */
export function treeOf(spans: ReadableSpan[]): string {
  const lines: string[] = [];
  const ids = new Set(spans.map(spanIdOf));
  const walk = (parent: string | undefined, depth: number) => {
    const children = spans
      .filter((s) => (parent ? parentIdOf(s) === parent : !ids.has(parentIdOf(s) ?? '')))
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const span of children) {
      lines.push(`${'  '.repeat(depth)}${span.name}`);
      walk(spanIdOf(span), depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

/** An OTLP attribute value as OTLP/JSON encodes it. */
export interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface OtlpExportRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[];
  }[];
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: OTEL_EXPORTER_OTLP_ENDPOINT for an exporter using http/json. */
  readonly endpoint: string;
  readonly requests: { path: string; headers: IncomingHttpHeaders; body: OtlpExportRequest }[];
  /** Every span received so far, with its resource's `service.name`. */
  spans(): (OtlpSpan & { serviceName: string | undefined })[];
  close(): Promise<void>;
}

/** A small OTLP/HTTP (JSON) collector: decodes each export request and keeps it. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExportRequest,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    spans: () =>
      requests.flatMap((request) =>
        request.body.resourceSpans.flatMap((resourceSpans) => {
          const serviceName = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value
            .stringValue;
          return resourceSpans.scopeSpans.flatMap((scope) =>
            scope.spans.map((span) => ({ ...span, serviceName })),
          );
        }),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const otlpAttribute = (span: OtlpSpan, key: string) =>
  span.attributes.find((a) => a.key === key)?.value;
