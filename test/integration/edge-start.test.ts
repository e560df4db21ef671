/**
 * A gateway process says which edge serves it — in the start-up log (with why, and
 * on what Node, ABI and libc), on `/health/websocket` and as `tether_edge_info` —
 * and EDGE=uws where no native build loads refuses to start, saying what would work.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chooseEdge } from '../../src/edge/select-edge.ts';
import { testedEdges } from '../edge/edge-harness.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  runToExit,
  spawnGateway,
} from '../support/gateway-process.ts';

const ADMIN = { authorization: 'Bearer test-admin-key-0123456789' };
/** The edge this run asks for (the vitest project sets EDGE; auto otherwise). */
const expected = chooseEdge(
  process.env.EDGE === 'uws' || process.env.EDGE === 'ws' ? process.env.EDGE : 'auto',
).edge.info;

describe('the edge a gateway runs on', () => {
  let gateway: GatewayProcess | undefined;
  afterAll(() => gateway?.kill());

  it('is logged at start with why, and reported on /health/websocket and /metrics', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    gateway = await spawnGateway(processEnv({ NODE_ID: 'gw-edge-log' }));
    const line = gateway.logs().find((entry) => String(entry.msg).startsWith('edge:'));
    // `node` is the process's NODE_ID on every line; a second `node` key here (the Node version)
    // would be a duplicate key, and a log pipeline keeping the last one would lose the NODE_ID.
    expect(line).toMatchObject({
      msg: `edge: ${expected.impl} (${expected.version})`,
      node: 'gw-edge-log',
      edge: expected.impl,
      build: expected.version,
      reason: expected.reason,
      nodeVersion: process.version,
      abi: process.versions.modules,
      libc: expect.any(String),
    });
    const health = (await (await fetch(`${gateway.http}/health/websocket`, { headers: ADMIN })).json()) as {
      edge: unknown;
    };
    expect(health.edge).toEqual(expected);
    const metrics = await (await fetch(`${gateway.http}/metrics`)).text();
    expect(metrics).toContain(`tether_edge_info{impl="${expected.impl}",version="${expected.version}"} 1`);
  });

  it.runIf(!testedEdges().includes('uws'))(
    'EDGE=uws where no native build loads exits 1, naming Node, ABI, libc and what would work',
    { timeout: PROCESS_TEST_TIMEOUT_MS },
    async () => {
      const exit = await runToExit(processEnv({ EDGE: 'uws' }));
      expect(exit.code).toBe(1);
      expect(exit.stderr).toContain(`no native uWebSockets.js build loads on Node ${process.version}`);
      expect(exit.stderr).toContain(`(ABI ${process.versions.modules})`);
      expect(exit.stderr).toMatch(/glibc \d|musl/);
      expect(exit.stderr).toContain('Would work:');
      expect(exit.stderr).toContain('EDGE=ws');
    },
  );
});
