/**
 * "Restart the gateway, nothing lost" on the embedded default (issue 12, part 5):
 * a development gateway's private redis-server keeps an append-only file in
 * REDIS_DATA_DIR, so a gateway process restarted — with its Redis — resumes the
 * session and replays every event it had acknowledged. REDIS_URL=embedded makes the
 * process start its own redis-server even though this machine's 6379 answers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { lastId, publishMany, settle } from '../support/events.ts';
import { mintToken } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  runToExit,
  spawnGateway,
} from '../support/gateway-process.ts';
import { ids, TestClient } from '../support/ws-client.ts';

const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  // SIGTERM: each gateway stops its own redis-server on the way out.
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGTERM')));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function embeddedGateway(): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-data-'));
  dirs.push(dataDir);
  const env = processEnv({ PORT: String(await freePort()), REDIS_URL: 'embedded', REDIS_DATA_DIR: dataDir });
  return { env, dataDir };
}

async function start(env: Record<string, string>): Promise<GatewayProcess> {
  const gateway = await spawnGateway(env);
  processes.push(gateway);
  return gateway;
}

describe('the embedded redis-server keeps its data across a gateway restart', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'publish, %s the gateway process, start it again, resume: every event arrives once, in order',
    async (signal) => {
      const { env, dataDir } = await embeddedGateway();
      const first = await start(env);
      const announced = first.logs().find((line) => line.msg === 'using embedded Redis default');
      expect(announced).toMatchObject({ source: 'private', dataDir: realpathSync(dataDir) });

      const channel = `restart:${randomUUID().slice(0, 8)}`;
      const token = await mintToken({ sub: 'restarter' });
      const session = await TestClient.session(first.url, { token });
      clients.push(session.client);
      session.client.send({ type: 'subscribe', channel, ref: 'sub' });
      await session.client.next((f) => f.type === 'subscribed' && f.ref === 'sub');
      const seen = await publishMany(first.http, channel, 20);
      await session.client.waitForEvents(20);
      session.client.drop();
      const missed = await publishMany(first.http, channel, 30); // acknowledged while the client is away

      // SIGKILL leaves the old redis-server running: the new gateway must stop it before reusing its files.
      await first.kill(signal);
      processes.splice(processes.indexOf(first), 1);
      const restarted = await start(env);

      const resumed = await TestClient.session(restarted.url, {
        token,
        resume: {
          sessionId: session.welcome.sessionId,
          resumeToken: session.welcome.resumeToken,
          lastEventIds: { [channel]: lastId(seen) },
        },
      });
      clients.push(resumed.client);
      expect(resumed.welcome).toMatchObject({
        sessionId: session.welcome.sessionId,
        resumed: true,
        recovered: true,
      });
      await resumed.client.waitForEvents(missed.length);
      await settle(resumed.client);
      expect(ids(resumed.client.events())).toEqual(missed);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a second gateway on the same data folder is refused, naming the holder and how to share its Redis',
    async () => {
      const { env } = await embeddedGateway();
      const holder = await start(env);
      const second = await runToExit({ ...env, PORT: String(await freePort()) });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`is in use by Tether process ${holder.child.pid}`);
      expect(second.stderr).toMatch(/Set REDIS_URL=redis:\/\/127\.0\.0\.1:\d+ to share its Redis/);
      expect((await fetch(`${holder.http}/livez`)).status).toBe(200); // the holder is untouched
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
