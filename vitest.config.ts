import { defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts'];

/**
 * The integration files that cover every Redis feature (sessions and resume, channel logs
 * and history, presence, actions on BullMQ, idempotent publish, rate limits, takeover,
 * lost history, control, namespaces, lifecycle notifications), run again on a Redis
 * Cluster and on Sentinel (test/support/global-redis.ts starts the topology). Files
 * that kill, freeze or pause a Redis start their own single server and stay standalone.
 */
const ON_EVERY_TOPOLOGY = [
  'actions',
  'control',
  'history',
  'idempotent-publish',
  'lifecycle-notifications',
  'lost-history',
  'namespaces',
  'presence',
  'presence-store',
  'rate-limits',
  'recovery-gap',
  'resume',
  'session',
  'takeover',
].map((name) => `test/integration/${name}.test.ts`);

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
      // One edge is enough here: the topology is what varies (docs/scaling.md, "Testing").
      {
        extends: true,
        test: {
          name: 'integration-cluster',
          include: ON_EVERY_TOPOLOGY,
          env: { EDGE: 'uws', REDIS_TOPOLOGY: 'cluster' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-sentinel',
          include: ON_EVERY_TOPOLOGY,
          env: { EDGE: 'uws', REDIS_TOPOLOGY: 'sentinel' },
        },
      },
    ],
  },
});
