/**
 * The demo page in chromium behind a proxy that refuses WebSocket upgrades (issue 17): the
 * SDK falls back to SSE + POST, the status says so, and the page survives its gateway being
 * killed and restarted — every event on the page once, in order, including those published
 * while the gateway was down.
 */
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { UpgradeProxy } from '../support/upgrade-proxy.ts';
import { ARTIFACTS, DOT_COLOURS, demoRecord, launchChromium, shownIds, sleep, status } from './browser.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let publisher: TestGateway; // another process on the same Redis: where the backend publishes
let gateway: GatewayProcess | undefined; // the one behind the proxy, killed and restarted
let env: Record<string, string>;
let proxy: UpgradeProxy;
let browser: Browser;

beforeAll(async () => {
  publisher = await startTestGateway({ REDIS_PREFIX: prefix });
  env = processEnv({ REDIS_PREFIX: prefix, PORT: String(await freePort()) });
  gateway = await spawnGateway(env);
  proxy = await UpgradeProxy.start(gateway.port, 'refuse');
  browser = await launchChromium();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await gateway?.kill('SIGTERM');
  await publisher?.stop();
});

async function publishAll(channel: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n <= to; n++)
    ids.push(await publishHttp(publisher.http, channel, { user: 'backend', text: `message ${n}` }));
  return ids;
}

describe('demo page with WebSocket blocked', () => {
  it(
    'runs over SSE, and survives a gateway restart losing nothing',
    async () => {
      const channel = `room:sse-${randomUUID().slice(0, 8)}`;
      const token = await mintToken({ sub: 'sse-browser' });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${proxy.http}/demo?${new URLSearchParams({ token, channel, user: 'tester' })}`);
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
      expect(await status(page)).toMatchObject({
        text: '● connected over SSE (fallback)',
        colour: DOT_COLOURS.green,
      });
      await page.waitForFunction(
        (name) =>
          (
            window as unknown as {
              tetherDemo: { client: { subscribe(c: string): { ready(): Promise<unknown> } } };
            }
          ).tetherDemo.client
            .subscribe(name)
            .ready()
            .then(() => true),
        channel,
        { timeout: 10_000 },
      );

      const published = await publishAll(channel, 1, 10);
      await page.waitForFunction(
        (n) => document.querySelectorAll('#events li').length >= n,
        published.length,
      );

      await gateway?.kill('SIGKILL');
      published.push(...(await publishAll(channel, 11, 20))); // stored while no gateway serves the page
      await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 10_000 });
      gateway = await spawnGateway(env);
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 60_000 });
      published.push(...(await publishAll(channel, 21, 30)));
      await page.waitForFunction(
        (n) => document.querySelectorAll('#events li').length >= n,
        published.length,
        {
          timeout: 15_000,
        },
      );
      await sleep(500); // a late duplicate would show up now

      expect(await shownIds(page)).toEqual(published);
      expect((await demoRecord(page)).received).toEqual(published);
      expect(
        await page.evaluate(
          () =>
            (window as unknown as { tetherDemo: { client: { transport: string } } }).tetherDemo.client
              .transport,
        ),
      ).toBe('sse');
      expect(await page.textContent('#recovered')).toContain('Nothing was lost');
      await page.screenshot({ path: `${ARTIFACTS}/demo-sse.png` });
      expect(errors).toEqual([]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
