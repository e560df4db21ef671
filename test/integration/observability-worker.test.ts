/**
 * The example worker (`npm run worker`) as an operator runs it next to the
 * gateway: its own process, configured by OTEL_* only, named by
 * OTEL_SERVICE_NAME. Its `process actions` span joins the connection's trace and
 * reaches the collector even though the batch processor would hold it for ten
 * minutes: SIGTERM flushes the last batch before the worker exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { PROCESS_TEST_TIMEOUT_MS } from '../support/gateway-process.ts';
import {
  callerTraceparent,
  type OtlpReceiver,
  only,
  spanIdOf,
  startOtlpReceiver,
  traceToMemory,
  waitForSpans,
} from '../support/spans.ts';
import { TestClient } from '../support/ws-client.ts';

let exporter: InMemorySpanExporter;
let collector: OtlpReceiver;
let gw: TestGateway;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  exporter = await traceToMemory(); // the gateway's spans, in this process
  collector = await startOtlpReceiver(); // the worker's, over the wire
  gw = await startTestGateway({ TRACE_CLIENT_CONTEXT: 'continue' });
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await gw?.stop();
  await collector?.close();
});

function startWorker(otel: Record<string, string> = {}): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--enable-source-maps', inject('processBundles').worker], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: gw.redisUrl,
      REDIS_PREFIX: gw.prefix,
      OTEL_SERVICE_NAME: 'tether-worker',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '600000', // only a flush sends the span
      ...otel,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

describe('npm run worker', () => {
  it(
    'joins the trace as tether-worker and flushes its spans on SIGTERM',
    async () => {
      const started = startWorker();
      worker = started.child;
      await eventually(() => started.stderr().includes('handling echo'), 'the worker ready', 60_000);

      const caller = callerTraceparent();
      const { client } = await TestClient.session(gw.url, {
        token: await mintToken({ sub: 'wes' }),
        traceparent: caller.traceparent,
      });
      client.send({ type: 'action', ref: 'w1', name: 'echo', data: { n: 1 } });
      expect(await client.next((f) => f.type === 'reply' && f.ref === 'w1', 20_000)).toMatchObject({
        ok: true,
      });
      client.close();
      const add = only(
        await waitForSpans(exporter, caller.traceId, ['add actions.echo']),
        'add actions.echo',
      );
      expect(collector.spans()).toEqual([]); // held by the worker's batch processor

      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      const processed = collector.spans().find((span) => span.name === 'process actions');
      expect(processed).toMatchObject({
        traceId: caller.traceId,
        parentSpanId: spanIdOf(add),
        serviceName: 'tether-worker',
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'says which OTEL_* values it ignores, and what OpenTelemetry warned of at start',
    async () => {
      // register.ts holds the SDK's start-up warnings; a process that never routed them held
      // them for good, and the worker said nothing of a typo in its configuration.
      const started = startWorker({
        OTEL_TRACES_EXPORTER: 'otlp,jaeger',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
      });
      worker = started.child;
      await eventually(() => started.stderr().includes('handling echo'), 'the worker ready', 60_000);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      const lines = started.stderr().split('\n');
      expect(lines).toContainEqual(
        expect.stringMatching(/warn tracing: ignoring unsupported values .*OTEL_TRACES_EXPORTER=jaeger/),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/warn otel: .*Could not parse environment-provided export URL: 'not a url'/),
      );
      expect(lines.filter((line) => line.includes("'not a url'"))).toHaveLength(1); // not twice
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
