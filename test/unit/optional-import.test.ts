/**
 * Options whose package is optional (the gRPC trace exporter, the Stately inspector):
 * asking for one without its package says which option needs what, and how to install it.
 */
import { describe, expect, it } from 'vitest';
import { importOptional, OptionalPackageMissingError } from '../../src/shared/optional-import.ts';

describe('importOptional', () => {
  it('names the option and the install command when the package is not installed', async () => {
    const missing = importOptional(
      // @ts-expect-error: a package that is, on purpose, not installed
      () => import('@tether-test/not-installed'),
      '@tether-test/not-installed@^1.2.0',
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    );
    await expect(missing).rejects.toThrow(OptionalPackageMissingError);
    await expect(missing).rejects.toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the optional package @tether-test/not-installed: npm install @tether-test/not-installed@^1.2.0',
    );
  });

  it('loads an installed package, and passes on any other failure unchanged', async () => {
    const inspect = await importOptional(() => import('@statelyai/inspect'), '@statelyai/inspect', 'INSPECT');
    expect(typeof inspect.createInspector).toBe('function');
    const broken = new Error('boom');
    await expect(importOptional(() => Promise.reject(broken), 'x', 'X')).rejects.toBe(broken);
  });
});
