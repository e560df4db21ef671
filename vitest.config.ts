import { defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts'];

/**
 * The integration files that cover every Redis feature (sessions and resume, channel logs
 * and history, presence, actions on BullMQ, idempotent publish, rate limits, takeover,
 * lost history, unused logs, control, namespaces, lifecycle notifications), run again on a Redis
 * Cluster (test/support/global-redis.ts starts the topology). Files that kill, freeze or
 * pause a Redis start their own single server and stay standalone. Each topology project
 * runs one edge and one transport: neither is what varies there.
 */
const ON_CLUSTER = [
  'actions',
  'admission-node-id',
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
  'unused-logs',
].map((name) => `test/integration/${name}.test.ts`);

/**
 * Behind Sentinel the commands are one server's; what differs is finding the master (and a
 * failover: redis-failover.test.ts). The files that open every kind of connection — sessions
 * and resume, logs and history, BullMQ's, a takeover's pub/sub — run there.
 */
const ON_SENTINEL = ['actions', 'history', 'idempotent-publish', 'resume', 'session', 'takeover'].map(
  (name) => `test/integration/${name}.test.ts`,
);

/**
 * Files that start a cluster and a Sentinel of their own (failovers, takeovers, a reshard, the
 * cluster bus): the edge is not what varies there either, so they run once, with the
 * cluster project, not once per edge.
 */
const OWN_TOPOLOGY = [
  'redis-cluster',
  'redis-cluster-classic',
  'redis-cluster-shard-down',
  'redis-failover',
  'redis-reshard',
].map((name) => `test/integration/${name}.test.ts`);
/**
 * Files whose subject is not the edge — the CLI, the SDK's package, the SDK's patience
 * through a 90 s outage, the embedded Redis across a restart — and that take the longest:
 * they run with the portable edge's project only, which CI runs on Node 24 as well.
 */
const NOT_ABOUT_THE_EDGE = ['cli', 'client-sdk-outage', 'client-sdk-package', 'embedded-redis-restart'].map(
  (name) => `test/integration/${name}.test.ts`,
);
/**
 * The Redis-feature files the portable edge does not run again: their subject is what the
 * gateway keeps in Redis, which no edge changes, and they already run on uWS standalone, on
 * the cluster and (some) behind Sentinel. The ones every client's path crosses — sessions,
 * resume, actions — stay on the `ws` edge too, as CI's Node 24 and 22 legs run them there.
 * What differs between the edges is tested in test/edge and by the files left on both.
 */
const REDIS_FEATURES_ON_ONE_EDGE = ON_CLUSTER.filter(
  (file) => !['session', 'resume', 'actions'].some((name) => file.endsWith(`/${name}.test.ts`)),
);
/** `TEST_EDGES=ws`: the portable edge is the one under test (a Node where no uWS build loads), so it runs them. */
const UWS_RUNS_REDIS_FEATURES = process.env.TEST_EDGES !== 'ws';
const ONE_EDGE_ON_A_TOPOLOGY = { EDGE: 'uws', TEST_TRANSPORTS: 'websocket' };

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-redis.ts', 'test/support/global-process-bundles.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // In CI (.ci/run sets CI=true) a failed test runs once more: on a shared runner a
    // neighbour's stall can starve real sockets and servers past a wait. A test that
    // passes only the second time is still named ("flaky: …", summary-reporter.ts), so
    // it is seen and mended; one that fails twice fails the run. Locally: no retry.
    retry: process.env.CI ? 1 : 0,
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
      {
        extends: true,
        test: {
          name: 'integration-uws',
          include: INTEGRATION,
          exclude: [...OWN_TOPOLOGY, ...NOT_ABOUT_THE_EDGE],
          env: { EDGE: 'uws' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-ws',
          include: INTEGRATION,
          exclude: [...OWN_TOPOLOGY, ...(UWS_RUNS_REDIS_FEATURES ? REDIS_FEATURES_ON_ONE_EDGE : [])],
          env: { EDGE: 'ws' },
        },
      },
      // The Redis topologies (docs/scaling.md, "Tested on each topology"); not in CI's Node 24 leg.
      {
        extends: true,
        test: {
          name: 'integration-cluster',
          include: [...ON_CLUSTER, ...OWN_TOPOLOGY],
          env: { ...ONE_EDGE_ON_A_TOPOLOGY, REDIS_TOPOLOGY: 'cluster' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-sentinel',
          include: ON_SENTINEL,
          env: { ...ONE_EDGE_ON_A_TOPOLOGY, REDIS_TOPOLOGY: 'sentinel' },
        },
      },
    ],
  },
});
