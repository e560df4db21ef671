import { defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: real sockets and real Redis are timing-sensitive; keep the box calm.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // The integration suite runs once per edge (docs/edge.md), like a client SDK over
    // each transport: `--project integration-ws` (or -uws) runs one. The edge tests
    // (test/edge) run every case on both edges themselves; TEST_EDGES narrows them.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/edge/**/*.test.ts', 'test/e2e/**/*.test.ts'],
        },
      },
      { extends: true, test: { name: 'integration-uws', include: INTEGRATION, env: { EDGE: 'uws' } } },
      { extends: true, test: { name: 'integration-ws', include: INTEGRATION, env: { EDGE: 'ws' } } },
    ],
  },
});
