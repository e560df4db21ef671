/**
 * The pages users see first, in a real browser (Debian chromium, playwright-core)
 * against a real gateway:
 * - `/` links the demo, the dashboard, /metrics and the docs, with an icon;
 * - the demo, offline for 90 s: it says why it is disconnected, a message typed
 *   meanwhile is a pending row (not an error), and when the network returns the page
 *   recovers without a click — the session resumes, the pending row becomes the
 *   message, once; the status pill never reflows the header; Diagnose shows its
 *   report; event IDs hide behind a toggle;
 * - the dashboard opens with the gateway's history already charted, its cards in full rows.
 * Screenshots land in test-artifacts/.
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../support/gateway.ts';
import { ARTIFACTS, demoRecord, gatewayAndChromium, sleep, status } from './browser.ts';

const OFFLINE_MS = 90_000;

const env = gatewayAndChromium();

/** Where the header's parts are: any change means the header reflowed. */
const headerLayout = (page: Page) =>
  page.$$eval('header > *', (els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)].join(',');
    }),
  );

describe('the pages users see first', () => {
  it('GET / is a landing page linking the demo, the dashboard, /metrics and the docs', async () => {
    const page = await env.browser.newPage();
    const res = await page.goto(`${env.gw.http}/`);
    expect(res?.status()).toBe(200);
    const links = await page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual([
      '/demo',
      '/dashboard',
      '/metrics',
      '/docs/client.md',
      '/docs/protocol.md',
      '/docs/errors.md',
    ]);
    for (const href of links) expect((await fetch(`${env.gw.http}${href}`)).status).toBe(200);
    const icon = await fetch(`${env.gw.http}${await page.getAttribute('link[rel=icon]', 'href')}`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(`${env.gw.http}/docs/..%2Fpackage.json`)).status).toBe(404); // docs by name only
    await page.screenshot({ path: `${ARTIFACTS}/landing.png` });
    await page.close();
  });

  it('the demo, offline for 90 s, recovers without a click; the message typed offline is sent once', async () => {
    const channel = `room:offline-${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'commuter' });
    const context = await env.browser.newContext({ viewport: { width: 1200, height: 700 } });
    const demo = await context.newPage();
    const pageErrors: string[] = [];
    demo.on('pageerror', (error) => pageErrors.push(error.message));
    await demo.goto(`${env.gw.http}/demo?${new URLSearchParams({ token, channel, user: 'commuter' })}`);
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    const layout = await headerLayout(demo);
    const session = await demo.evaluate(
      () =>
        (window as unknown as { tetherDemo: { client: { sessionId: string } } }).tetherDemo.client.sessionId,
    );

    // Event IDs are behind the toggle.
    await demo.fill('#message', 'before the tunnel');
    await demo.press('#message', 'Enter');
    await demo.waitForSelector('#events li[data-id]:not(.pending)');
    expect(await demo.isVisible('#events li .id')).toBe(false);
    await demo.check('#show-ids');
    expect(await demo.isVisible('#events li .id')).toBe(true);
    await demo.uncheck('#show-ids');

    await context.setOffline(true);
    await demo.waitForSelector('#status[data-state="reconnecting"]', { timeout: 5000 });
    expect((await status(demo)).text).toBe('◐ offline — waiting for the network');
    expect(await demo.textContent('#problem-message')).toMatch(
      /^Disconnected: The browser reports that there is no network/,
    );
    await demo.fill('#message', 'typed in the tunnel');
    await demo.press('#message', 'Enter');
    const pending = demo.locator('#events li.pending');
    await expect(pending.count()).resolves.toBe(1);
    expect(await pending.textContent()).toContain('pending — sends when reconnected');
    expect(await demo.$$eval('.failed, #send-error', (els) => els.length)).toBe(0); // not an error
    expect(await headerLayout(demo)).toEqual(layout); // the status changed; the header did not move
    await demo.screenshot({ path: `${ARTIFACTS}/demo-offline-pending.png` });

    await sleep(OFFLINE_MS);
    expect(await pending.count()).toBe(1); // still waiting, still not an error
    expect((await demoRecord(demo)).detailedState).toEqual({ reconnecting: 'offline' });

    await context.setOffline(false); // no click from here on
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    await demo.waitForSelector('#events li.pending', { state: 'detached', timeout: 10_000 });
    await sleep(500); // a duplicate would show now
    const rows = await demo.$$eval('#events li', (lis) =>
      lis.map((li) => ({ text: li.querySelector('.text')?.textContent, id: (li as HTMLElement).dataset.id })),
    );
    expect(rows.map((r) => r.text)).toEqual(['before the tunnel', 'typed in the tunnel']);
    expect(rows.every((r) => /^\d+-\d+$/.test(r.id ?? ''))).toBe(true);
    const after = await demoRecord(demo);
    expect(after.received).toEqual(rows.map((r) => r.id));
    expect(after.states).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
    expect(
      await demo.evaluate(
        () =>
          (window as unknown as { tetherDemo: { client: { sessionId: string } } }).tetherDemo.client
            .sessionId,
      ),
    ).toBe(session); // resumed, inside the 120 s window
    expect(await demo.textContent('#recovered')).toContain('Nothing was lost');
    expect(await demo.isHidden('#problem')).toBe(true);
    expect(await headerLayout(demo)).toEqual(layout);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-back-online.png` });

    await demo.click('#diagnose');
    await demo.waitForSelector('#diagnose-report .summary', { timeout: 15_000 });
    expect(await demo.getAttribute('#diagnose-report .summary', 'data-ok')).toBe('true');
    expect(
      await demo.$$eval('#diagnose-report tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.ok)),
    ).toEqual(['true', 'true', 'true', 'true', 'true', 'true']);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-diagnose.png` });
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 150_000);

  it('the dashboard opens with the gateway’s history charted, its cards in full rows', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${env.gw.http}/dashboard`);
    await page.waitForFunction(
      () =>
        (window as unknown as { tetherDashboard: { seeded: { count: number } } }).tetherDashboard.seeded
          .count > 0,
    );
    // This gateway has been up for the whole offline test: its sampler remembers it.
    const seeded = await page.evaluate(
      () =>
        (window as unknown as { tetherDashboard: { seeded: { count: number } } }).tetherDashboard.seeded
          .count,
    );
    expect(seeded).toBeGreaterThan(60);
    const rows = await page.$$eval('.tile', (tiles) => {
      const tops = new Map<number, number>();
      for (const t of tiles) {
        const top = Math.round(t.getBoundingClientRect().top);
        tops.set(top, (tops.get(top) ?? 0) + 1);
      }
      return [...tops.values()];
    });
    expect(rows).toEqual([5, 5]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-history.png`, fullPage: true });
    await page.close();
  });
});
