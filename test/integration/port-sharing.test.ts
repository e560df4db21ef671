/**
 * A second gateway on a port already in use refuses to start, saying why and what
 * to do, unless every process on the port asks to share it (REUSE_PORT=true) —
 * before, SO_REUSEPORT silently started two (issue 12, part 5). Run per edge: uWS
 * binds with LIBUS_LISTEN_EXCLUSIVE_PORT, the ws edge with node:http's `reusePort`,
 * which Node only has from 22.12 / 23.1 (on Node 20 sharing is refused, and said so).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chooseEdge } from '../../src/edge/select-edge.ts';
import { sharesPorts } from '../../src/edge/uws.ts';
import { ListenError } from '../../src/gateway.ts';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { PROCESS_TEST_TIMEOUT_MS, processEnv, runToExit } from '../support/gateway-process.ts';

const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

const edge = chooseEdge(process.env.EDGE === 'uws' || process.env.EDGE === 'ws' ? process.env.EDGE : 'auto')
  .edge.info.impl;
const canShare = sharesPorts(edge);

describe('a port already in use', () => {
  it('refuses a second gateway, which stops what it started; the first keeps serving', async () => {
    const port = String(await freePort());
    const first = await gateway({ PORT: port });
    const second = startTestGateway({ PORT: port });
    await expect(second).rejects.toBeInstanceOf(ListenError);
    const message = await second.catch((error: Error) => error.message);
    expect(message).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use`);
    expect(message).toContain('set REUSE_PORT=true on each of them');
    expect((await fetch(`${first.http}/livez`)).status).toBe(200);
  });

  it('refuses a gateway asking to share it when the holder did not', async () => {
    const port = String(await freePort());
    await gateway({ PORT: port });
    await expect(startTestGateway({ PORT: port, REUSE_PORT: 'true' })).rejects.toBeInstanceOf(ListenError);
  });

  it.runIf(canShare)('is shared when every gateway on it sets REUSE_PORT=true', async () => {
    const port = String(await freePort());
    const first = await gateway({ PORT: port, REUSE_PORT: 'true' });
    const second = await gateway({ PORT: port, REUSE_PORT: 'true' });
    expect(second.gateway.port).toBe(first.gateway.port);
    expect((await fetch(`${second.http}/livez`)).status).toBe(200);
  });

  it.runIf(!canShare)(
    `cannot be shared on the ws edge under Node ${process.versions.node}, and says so`,
    async () => {
      const port = String(await freePort());
      await gateway({ PORT: port, REUSE_PORT: 'true' });
      const message = await startTestGateway({ PORT: port, REUSE_PORT: 'true' }).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(message).toContain('REUSE_PORT=true has no effect on the ws edge under Node');
      expect(message).toContain('give each process its own PORT');
    },
  );

  it(
    'a gateway process exits 1 with the message on stderr',
    async () => {
      const port = String(await freePort());
      await gateway({ PORT: port });
      const exit = await runToExit(processEnv({ PORT: port }));
      expect(exit.code).toBe(1);
      expect(exit.stderr).toContain(`tether: cannot listen on 127.0.0.1:${port}: the port is in use`);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
