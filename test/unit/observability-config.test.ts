import { trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TransitionHistory } from '../../src/admin/transition-history.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { GatewayTelemetry } from '../../src/observability/telemetry.ts';
import { chooseExporters, isTracingEnabled } from '../../src/observability/tracing.ts';

describe('chooseExporters (OTEL_* → what tracing does)', () => {
  it.each<[Record<string, string>, string[], string]>([
    [{}, [], 'nothing configured: off, not a collector that is not there'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, ['otlp'], 'an endpoint turns OTLP on'],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' },
      ['otlp'],
      'so does the traces endpoint',
    ],
    [{ OTEL_TRACES_EXPORTER: 'console' }, ['console'], 'console needs no endpoint'],
    [{ OTEL_TRACES_EXPORTER: 'otlp,console' }, ['otlp', 'console'], 'several'],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }, [], 'none wins'],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'console' }, [], 'the SDK switch wins'],
  ])('%j → %j (%s)', (env, exporters) => {
    expect(chooseExporters(env).exporters).toEqual(exporters);
  });

  it('takes the protocol from the traces variable, then the general one, else http/protobuf', () => {
    expect(chooseExporters({}).protocol).toBe('http/protobuf');
    expect(chooseExporters({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).protocol).toBe('grpc');
    expect(
      chooseExporters({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }).protocol,
    ).toBe('http/json');
  });

  it('reports what it cannot honour instead of failing', () => {
    const choice = chooseExporters({
      OTEL_TRACES_EXPORTER: 'zipkin,console',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
    });
    expect(choice.exporters).toEqual(['console']);
    expect(choice.ignored).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL=carrier-pigeon',
      'OTEL_TRACES_EXPORTER=zipkin',
    ]);
  });
});

describe('tracing off', () => {
  it('is the default, and a connection then gets the shared no-op trace', async () => {
    expect(isTracingEnabled()).toBe(false);
    const info = {
      connectionId: 'c',
      transport: 'websocket' as const,
      path: '/ws',
      peerAddress: '127.0.0.1',
      clientAddress: '127.0.0.1',
      userAgent: 'ua',
    };
    const telemetry = new GatewayTelemetry(pino({ level: 'silent' }), 'link');
    const a = telemetry.connectionTrace(info, 'x');
    expect(telemetry.connectionTrace(info, 'y')).toBe(a); // nothing allocated per connection
    a.helloReceived('x', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(telemetry.traceOf('c')).toBeUndefined();
    expect(await a.action('ping', 'r1', async () => trace.getActiveSpan()?.isRecording() ?? false)).toBe(
      false,
    );
  });
});

describe('INSPECT', () => {
  const env = { AUTH_JWT_SECRET: 'x'.repeat(32) };
  it.each([
    ['off', { kind: 'off' }],
    ['pool', { kind: 'pool' }],
    ['all', { kind: 'all' }],
    ['sample:25', { kind: 'sample', every: 25 }],
    ['users:alice,bob', { kind: 'users', userIds: ['alice', 'bob'] }],
  ])('%s', (value, mode) => {
    expect(loadConfig({ ...env, INSPECT: value }).inspect).toEqual({ mode, port: 4242 });
  });

  it('is off by default and refuses what it does not know, naming the choices', () => {
    expect(loadConfig(env).inspect.mode).toEqual({ kind: 'off' });
    for (const bad of ['on', 'sample:0', 'sample:x', 'users:'])
      expect(() => loadConfig({ ...env, INSPECT: bad }), bad).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, INSPECT: 'on' })).toThrow(/sample:N/);
  });
});

describe('TransitionHistory', () => {
  it('keeps the newest transitions per actor, oldest first, within its limit', () => {
    const history = new TransitionHistory<object>(3);
    const actor = {};
    for (let i = 0; i < 5; i++)
      history.record(actor, { at: i, from: `s${i}`, to: `s${i + 1}`, connectionId: 'c' });
    expect(history.of(actor).map((entry) => entry.at)).toEqual([2, 3, 4]);
    expect(history.of({})).toEqual([]);
  });
});
