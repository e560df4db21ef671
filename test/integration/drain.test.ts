/**
 * SIGTERM drain at scale (issue 3, "Tests"): 2,000 connected clients and a few
 * queued waiters on a gateway process. On SIGTERM /readyz turns 503, nobody new
 * gets in, waiters are told SERVICE_RESTART, connected clients are closed with
 * 1012 in batches of DRAIN_BATCH_SIZE, the process exits 0 — and every client
 * resumes on a second process with zero lost events while a backend keeps
 * publishing throughout.
 */
import { Agent, get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueuedFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { heardEachOnceInOrder, inBatches, PublishLoop, sleep } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import {
  CROWD_LIMITS_OFF,
  type GatewayProcess,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const CLIENTS = 2000;
const WAITERS = 3;
const BATCH = 250;
/** Sockets opened at once by the test: enough to be quick, few enough for a 2-core box. */
const PARALLEL = 100;
const CHANNEL = 'drain:room';
/** Generous: 2,000 sockets opened twice on a 2-core box while vitest runs other files beside it. */
const TEST_TIMEOUT_MS = 150_000;

const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];
let loop: PublishLoop | undefined;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

afterEach(async () => {
  await loop?.stop().catch(() => {});
  loop = undefined;
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
  agent.destroy();
});

/** What a client arriving during the drain meets: the closed port, or its hello refused (close code and error). */
async function lateArrival(url: string, token: string): Promise<string> {
  const late = await TestClient.connect(url).catch((error: NodeJS.ErrnoException) => error);
  if (late instanceof Error) {
    if (late.code === 'ECONNREFUSED' || late.code === 'ECONNRESET') return 'port closed';
    throw late;
  }
  clients.push(late);
  late.send({ type: 'hello', token });
  const { code } = await late.waitClosed(10_000);
  if (late.frames.some((f) => f.type === 'welcome')) return 'welcomed';
  const error = late.frames.find((f) => f.type === 'error');
  return `${code} ${error?.type === 'error' ? error.code : 'no error frame'}`;
}

/** GET /readyz on one kept-alive connection, as a load balancer's health check holds it. */
function readyz(http: string): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const req = get(`${http}/readyz`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('refused'));
    req.setTimeout(2000, () => req.destroy());
  });
}

describe('SIGTERM drain with 2,000 clients', () => {
  it(
    'readyz 503, no admissions, waiters get SERVICE_RESTART, 1012 in batches, exit 0, all resume elsewhere losslessly',
    async () => {
      const env = processEnv({
        ...CROWD_LIMITS_OFF,
        MAX_CONNECTIONS: String(CLIENTS),
        DRAIN_BATCH_SIZE: String(BATCH),
        DRAIN_TIMEOUT_MS: '20000',
      });
      const prefix = env.REDIS_PREFIX as string;
      const [leaving, staying] = await Promise.all([
        spawnGateway(env),
        spawnGateway(processEnv({ ...CROWD_LIMITS_OFF, REDIS_PREFIX: prefix })),
      ]);
      processes.push(leaving, staying);
      const token = await mintToken({ sub: 'crowd' });

      const first = await inBatches(CLIENTS, PARALLEL, async () => {
        const session = await TestClient.session(leaving.url, { token });
        clients.push(session.client);
        session.client.send({ type: 'subscribe', channel: CHANNEL, ref: 'sub' });
        await session.client.next((f) => f.type === 'subscribed', 20_000);
        return session;
      });
      // The pool is full: these wait in the admission queue.
      const waiters: TestClient[] = [];
      for (let i = 0; i < WAITERS; i++) {
        const waiter = await TestClient.connect(leaving.url);
        clients.push(waiter);
        waiter.send({ type: 'hello', token: await mintToken({ sub: `waiter${i}`, tier: 'enterprise' }) });
        await waiter.next((f): f is QueuedFrame => f.type === 'queued');
        waiters.push(waiter);
      }
      expect(await readyz(leaving.http)).toBe(200);

      // The backend publishes through the process that stays, before, during and after the drain.
      const publisher = new PublishLoop(() => staying.http, CHANNEL, { pauseMs: 100 });
      loop = publisher;
      await Promise.all(first.map(({ client }) => client.waitForEvents(2, CHANNEL, 20_000)));

      const exit = leaving.kill('SIGTERM');
      // A load balancer's health check sees the drain.
      let status: number | 'refused' = 200;
      for (let i = 0; i < 200 && status === 200; i++) {
        status = await readyz(leaving.http);
        if (status === 200) await sleep(10);
      }
      expect(status).toBe(503);
      // Nobody new gets in: the port no longer takes connections, or the hello is refused.
      expect(await lateArrival(leaving.url, token)).toMatch(/^(port closed|1012 SERVICE_RESTART)$/);

      for (const client of [...first.map((s) => s.client), ...waiters]) {
        expect((await client.waitClosed(20_000)).code).toBe(1012);
        expect(client.frames.find((f) => f.type === 'error')).toMatchObject({
          code: 'SERVICE_RESTART',
          retryable: true,
        });
      }
      for (const waiter of waiters) expect(waiter.frames.some((f) => f.type === 'welcome')).toBe(false);
      expect(await exit).toMatchObject({ code: 0, signal: null });

      // Closed in batches, so the crowd does not come back in the same millisecond.
      const batches = leaving.logs().filter((line) => line.msg === 'drain batch');
      expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(CLIENTS / BATCH));
      for (const batch of batches) expect(batch.closed).toBeLessThanOrEqual(BATCH);
      expect(batches.reduce((total, b) => total + Number(b.closed), 0)).toBe(CLIENTS + WAITERS);

      // Everyone resumes on the other process; waiters simply connect there.
      const resumed = await inBatches(CLIENTS, PARALLEL, async (i) => {
        const { client, welcome } = first[i] as { client: TestClient; welcome: WelcomeFrame };
        const before = ids(client.events(CHANNEL));
        const session = await TestClient.session(staying.url, {
          token,
          resume: {
            sessionId: welcome.sessionId,
            resumeToken: welcome.resumeToken,
            lastEventIds: { [CHANNEL]: before.at(-1) as string },
          },
        });
        clients.push(session.client);
        return { before, session };
      });
      for (const { session } of resumed)
        expect(session.welcome).toMatchObject({ resumed: true, recovered: true });
      const waiterAgain = await TestClient.session(staying.url, {
        token: await mintToken({ sub: 'waiter0', tier: 'enterprise' }),
      });
      clients.push(waiterAgain.client);

      await sleep(300); // a few more events while everyone is live on the new process
      const published = await publisher.stop();
      loop = undefined;
      let differ = 0;
      for (const { before, session } of resumed)
        if (!(await heardEachOnceInOrder(before, session.client, CHANNEL, published))) differ++;
      expect(differ, 'clients whose events differ from the published list').toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
