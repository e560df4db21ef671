/**
 * OTEL_* values Tether cannot honour are ignored, as the OpenTelemetry specification asks
 * (docs/observability.md, "Configuration"), but never silently: the gateway's log says which,
 * though tracing starts (src/observability/register.ts) before the logger exists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';

const processes: GatewayProcess[] = [];

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGTERM')));
});

describe('unsupported OTEL_* values', () => {
  it(
    'are named in a warning at start',
    async () => {
      const gateway = await spawnGateway(
        processEnv({ OTEL_TRACES_EXPORTER: 'jaeger', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' }),
      );
      processes.push(gateway);
      const warned = gateway
        .logs()
        .filter((line) => line.level === 40 && line.msg === 'tracing: ignoring unsupported values')
        .map((line) => line.ignored);
      expect(warned).toEqual([['OTEL_EXPORTER_OTLP_PROTOCOL=http/xml', 'OTEL_TRACES_EXPORTER=jaeger']]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
