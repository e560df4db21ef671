import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { holdDiagnostics, routeDiagnostics } from '../../src/observability/tracing.ts';

/** A logger that keeps what it was given. */
function recordingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }),
  };
}

describe("OpenTelemetry's own warnings before the process has a logger", () => {
  afterEach(() => diag.disable());

  it('are logged once it has one, in order, errors as errors', () => {
    holdDiagnostics();
    diag.warn('endpoint is not a URL', 'not a url');
    diag.error('exporter failed');
    diag.info('an info line is not a warning');
    const logger = recordingLogger();
    routeDiagnostics(logger);
    expect(logger.lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'otel: endpoint is not a URL'],
      ['error', 'otel: exporter failed'],
    ]);
    diag.warn('after routing');
    expect(logger.lines.at(-1)?.msg).toBe('otel: after routing');
  });

  it('past the first 50 are counted, and the count is logged rather than dropped in silence', () => {
    holdDiagnostics();
    for (let n = 0; n < 70; n++) diag.warn(`warning ${n}`);
    const logger = recordingLogger();
    routeDiagnostics(logger);
    expect(logger.lines).toHaveLength(51);
    expect(logger.lines[49]?.msg).toBe('otel: warning 49');
    expect(logger.lines[50]).toMatchObject({ level: 'warn', obj: { dropped: 20 } });
    expect(logger.lines[50]?.msg).toContain('20 more warnings');
  });
});
