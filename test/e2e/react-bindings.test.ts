/**
 * The React bindings (`@tether-gateway/client/react`) in chromium against a real
 * gateway — no mocked socket: `useConnectionState` follows the connection through a
 * drop, two components on one channel share one subscription and both render every
 * publication once, and unmounting one leaves the other subscribed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ARTIFACTS, launchChromium } from './browser.ts';

let gw: TestGateway;
let browser: Browser;
let server: Server;
/** The app's own origin: a page on another loopback port, as an application would serve it. */
let app: string;
beforeAll(async () => {
  gw = await startTestGateway();
  browser = await launchChromium();
  const built = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./react-app.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    external: ['ws'],
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  const bundle = built.outputFiles[0]?.text ?? '';
  // A real server: chromium refuses loopback WebSockets from pages it cannot place (route-fulfilled ones).
  server = createServer((req, res) => {
    const js = req.url === '/react-app.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? bundle : '<div id="root"></div><script type="module" src="/react-app.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  app = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await browser?.close();
  await gw?.stop();
});

const listed = (page: Page, feed: string) =>
  page.$$eval(`#${feed} li`, (lis) => lis.map((li) => li.textContent));

describe('React bindings in chromium', () => {
  it('follow the connection and share one subscription between components', { timeout: 60_000 }, async () => {
    const channel = `room:react-${randomUUID().slice(0, 8)}`;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const query = new URLSearchParams({ url: gw.url, token: await mintToken({ sub: 'react' }), channel });
    await page.goto(`${app}/?${query}`);
    await page.waitForSelector('#state:text("connected")', { timeout: 10_000 });
    // Attached, not visible: an empty feed has no height.
    await page.waitForSelector('#a[data-state="subscribed"]', { state: 'attached' });
    await page.waitForSelector('#b[data-state="subscribed"]', { state: 'attached' });
    const subscriptions = () =>
      page.evaluate(() =>
        Object.keys(
          (window as unknown as { client: { stats(): { subscriptions: object } } }).client.stats()
            .subscriptions,
        ),
      );
    expect(await subscriptions()).toEqual([channel]); // one subscription for two components

    for (let n = 1; n <= 3; n++) await publishHttp(gw.http, channel, { n });
    await page.waitForFunction(() => document.querySelectorAll('#b li').length === 3);
    expect(await listed(page, 'a')).toEqual(['1', '2', '3']);

    const states: string[] = [];
    await page.exposeFunction('recordState', (s: string) => states.push(s));
    await page.evaluate(() => {
      const el = document.getElementById('state') as HTMLElement;
      new MutationObserver(() =>
        (window as unknown as { recordState(s: string): void }).recordState(el.textContent ?? ''),
      ).observe(el, { childList: true, characterData: true, subtree: true });
    });
    for (const conn of gw.gateway.core.connections.values()) conn.socket?.close(); // a drop without a close frame
    await page.waitForFunction(
      () =>
        document.getElementById('state')?.textContent === 'connected' &&
        document.getElementById('state')?.dataset.error === '',
      undefined,
      { timeout: 15_000 },
    );
    expect(states).toContain('reconnecting');
    await publishHttp(gw.http, channel, { n: 4 });
    await page.waitForFunction(() => document.querySelectorAll('#a li').length === 4);
    expect(await listed(page, 'b')).toEqual(['1', '2', '3', '4']);

    await page.click('#toggle'); // feed a unmounts; b still holds the subscription
    await page.waitForSelector('#a', { state: 'detached' });
    expect(await subscriptions()).toEqual([channel]);
    await publishHttp(gw.http, channel, { n: 5 });
    await page.waitForFunction(() => document.querySelectorAll('#b li').length === 5);
    expect(await page.getAttribute('#b', 'data-position')).toMatch(/^\d+-\d+$/);
    await page.screenshot({ path: `${ARTIFACTS}/react-bindings.png` });
    expect(errors).toEqual([]);
    await page.close();
  });
});
