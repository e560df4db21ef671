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
        processEnv({
          OTEL_TRACES_EXPORTER: 'otlp,jaeger',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
        }),
      );
      processes.push(gateway);
      const warnings = gateway.logs().filter((line) => line.level === 40);
      const ignored = warnings.filter((line) => line.msg === 'tracing: ignoring unsupported values');
      expect(ignored.map((line) => line.ignored)).toEqual([
        ['OTEL_EXPORTER_OTLP_PROTOCOL=http/xml', 'OTEL_TRACES_EXPORTER=jaeger'],
      ]);
      // The SDK's own warning, raised as the exporter was built, before the logger existed.
      expect(warnings.map((line) => line.msg)).toContainEqual(
        expect.stringMatching(/^otel: .*Could not parse environment-provided export URL: 'not a url'/),
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
