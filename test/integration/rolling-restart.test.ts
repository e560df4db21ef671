/**
 * A rolling restart on one port (README "Running it", docs/admission.md "Drain"): the new
 * process starts on the port the old one holds (REUSE_PORT=true on both), then the old
 * one gets SIGTERM. Its drain closes its listening socket before it closes a client, so
 * every client that comes straight back meets the new process: none is refused, all
 * resume, nothing is lost. A backend publishing through the same port on a kept-alive
 * HTTP connection is told to close it by the draining process's next reply, so its
 * next publish reaches the new one; one cut by the exit (HTTP/1.1's keep-alive race) is sent
 * again with its idempotency key (PublishLoop), and every event is stored once. Compare the in-place
 * restart, where the port is closed until the new process listens (the bench's
 * reconnect storm).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chooseEdge } from '../../src/edge/select-edge.ts';
import { sharesPorts } from '../../src/edge/uws.ts';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { heardEachOnceInOrder, inBatches, PublishLoop } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import {
  CROWD_LIMITS_OFF,
  type GatewayProcess,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CLIENTS = 300;
const PARALLEL = 50;
const CHANNEL = 'rolling:room';
const TEST_TIMEOUT_MS = 120_000;

const edge = chooseEdge(process.env.EDGE === 'uws' || process.env.EDGE === 'ws' ? process.env.EDGE : 'auto')
  .edge.info.impl;

const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];
let loop: PublishLoop | undefined;
afterEach(async () => {
  await loop?.stop().catch(() => {});
  loop = undefined;
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

interface Subscriber {
  first: TestClient;
  sessionId: string;
  resumeToken: string;
  /** The socket it came back on, once the old process closed the first. */
  again?: TestClient;
  /** Why coming back failed, when it did (e.g. ECONNREFUSED). */
  refused?: string;
}

describe.runIf(sharesPorts(edge))('a rolling restart on one shared port', () => {
  it(
    'refuses no client and fails no publish: all resume on the new process at once, each event once, in order',
    async () => {
      const shared = processEnv({ ...CROWD_LIMITS_OFF, PORT: String(await freePort()), REUSE_PORT: 'true' });
      const old = await spawnGateway({ ...shared, NODE_ID: 'old' });
      processes.push(old);
      const token = await mintToken({ sub: 'crowd' });

      const subscribers: Subscriber[] = await inBatches(CLIENTS, PARALLEL, async () => {
        const { client, welcome } = await TestClient.session(old.url, { token });
        clients.push(client);
        client.send({ type: 'subscribe', channel: CHANNEL, ref: 'sub' });
        await client.next((f) => f.type === 'subscribed', 20_000);
        return { first: client, sessionId: welcome.sessionId, resumeToken: welcome.resumeToken };
      });
      // The backend publishes through the shared port (fetch keeps its connection alive);
      // a publish refused (any answer but 200) throws, and fails the test.
      const publisher = new PublishLoop(() => old.http, CHANNEL, { pauseMs: 20 });
      loop = publisher;
      await Promise.all(subscribers.map((s) => s.first.waitForEvents(2, CHANNEL, 20_000)));

      // The new process first, on the same port; then the old one is told to go.
      const next = await spawnGateway({ ...shared, NODE_ID: 'new' });
      processes.push(next);
      const exit = old.kill('SIGTERM');
      // Each client comes straight back when closed, with no backoff, to the same address.
      const back = subscribers.map(async (s) => {
        expect((await s.first.waitClosed(30_000)).code).toBe(1012);
        const lastEventId = ids(s.first.events(CHANNEL)).at(-1) as string;
        const resume = {
          sessionId: s.sessionId,
          resumeToken: s.resumeToken,
          lastEventIds: { [CHANNEL]: lastEventId },
        };
        const session = await TestClient.session(old.url, { token, resume }).catch(
          (error: NodeJS.ErrnoException) => {
            s.refused = error.code ?? String(error);
          },
        );
        if (!session) return;
        clients.push(session.client);
        expect(session.welcome).toMatchObject({ resumed: true, recovered: true });
        s.again = session.client;
      });
      await Promise.all(back);
      expect(await exit).toMatchObject({ code: 0, signal: null });
      expect(subscribers.filter((s) => s.refused).map((s) => s.refused)).toEqual([]);

      const published = await publisher.stop();
      loop = undefined;
      let differ = 0;
      for (const s of subscribers) {
        const before = ids(s.first.events(CHANNEL));
        if (!(await heardEachOnceInOrder(before, s.again as TestClient, CHANNEL, published))) differ++;
      }
      expect(differ, 'clients whose events differ from the published list').toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
