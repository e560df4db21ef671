/**
 * The demo page and the ops dashboard in a real browser (Debian chromium driven by
 * playwright-core) against a real gateway: the page connects; the gateway drops
 * every connection (abruptly, then with a retry hint); the indicator shows
 * reconnecting, then connected; every event is on the page exactly once, in
 * order; the dashboard's counts move. Screenshots land in test-artifacts/.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: run scripts/ensure-system-deps.sh (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  gw = await startTestGateway();
  // launch() gives every run a fresh temporary profile (the user-data-dir).
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

/** The IDs on the page, in order. */
const shownIds = (page: Page) =>
  page.$$eval('#events li', (lis) => lis.map((li) => (li as HTMLElement).dataset.id));
const metric = async (page: Page, id: string) => Number(await page.getAttribute(`#${id}`, 'data-value'));

async function publishAll(channel: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n <= to; n++)
    ids.push(await publishHttp(gw.http, channel, { user: 'backend', text: `message ${n}` }));
  return ids;
}

/** Close every socket from the gateway's side. */
function dropAll(how: 'abrupt' | 'restart'): number {
  let dropped = 0;
  for (const conn of [...gw.gateway.ctx.connections.values()]) {
    if (how === 'abrupt')
      conn.ws?.close(); // no close frame: the browser sees 1006
    else conn.close('SERVICE_RESTART', { retryAfterMs: 2500, detail: 'e2e: every connection dropped' });
    dropped++;
  }
  return dropped;
}

describe('demo page and dashboard in chromium', () => {
  it('reconnects after the gateway drops everyone, showing each event exactly once', async () => {
    const channel = `room:e2e-${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'browser-user' });
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const dashboard = await context.newPage();
    await dashboard.goto(`${gw.http}/dashboard`);
    await dashboard.waitForFunction(
      () => document.querySelector('#m-connected')?.getAttribute('data-value') !== null,
    );
    const connectedBefore = await metric(dashboard, 'm-connected');

    const demo = await context.newPage();
    const consoleErrors: string[] = [];
    demo.on('pageerror', (error) => consoleErrors.push(error.message));
    await demo.goto(`${gw.http}/demo?${new URLSearchParams({ token, channel, user: 'tester' })}`);
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect(await demo.textContent('#status')).toContain('● connected');
    await demo.waitForFunction(
      () => (window as { tetherDemo?: { client: { sessionId?: string } } }).tetherDemo?.client.sessionId,
    );
    // Wait until the subscription is live before publishing.
    await demo.waitForFunction(
      async () => {
        const t = (
          window as unknown as { tetherDemo: { client: { subscribe(c: string): Promise<unknown> } } }
        ).tetherDemo;
        return t.client
          .subscribe(new URLSearchParams(location.search).get('channel') as string)
          .then(() => true);
      },
      undefined,
      { timeout: 10_000 },
    );

    const published = await publishAll(channel, 1, 10);
    await demo.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, published.length);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-connected.png` });
    await dashboard.waitForFunction(
      (before) => Number(document.querySelector('#m-connected')?.getAttribute('data-value')) > before,
      connectedBefore,
      { timeout: 10_000 },
    );

    // 1. Abrupt: every socket dies without a close frame; events keep arriving in Redis meanwhile.
    expect(dropAll('abrupt')).toBeGreaterThan(0);
    published.push(...(await publishAll(channel, 11, 20)));
    await demo.waitForFunction(
      () => {
        const states = (window as unknown as { tetherDemo: { states: string[] } }).tetherDemo.states;
        return states.includes('reconnecting') && states.at(-1) === 'connected';
      },
      undefined,
      { timeout: 15_000 },
    );

    // 2. Coded, with a retry hint: the indicator holds "reconnecting in …" long enough to see.
    expect(dropAll('restart')).toBeGreaterThan(0);
    await demo.waitForSelector('#status[data-state="reconnecting"]', { timeout: 5000 });
    const reconnectingText = await demo.textContent('#status');
    expect(reconnectingText).toMatch(/◐ reconnecting in \d s/);
    published.push(...(await publishAll(channel, 21, 30)));
    await demo.screenshot({ path: `${ARTIFACTS}/demo-reconnecting.png` });
    await dashboard.waitForFunction(
      () => Number(document.querySelector('#m-reconnecting')?.getAttribute('data-value')) >= 1,
      undefined,
      { timeout: 5000 },
    );
    await dashboard.screenshot({ path: `${ARTIFACTS}/dashboard-reconnecting.png` });

    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    await demo.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, published.length);
    await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show up now
    expect(await shownIds(demo)).toEqual(published);
    const received = await demo.evaluate(
      () => (window as unknown as { tetherDemo: { received: string[] } }).tetherDemo.received,
    );
    expect(received).toEqual(published);
    expect(await demo.getAttribute('#recovered', 'data-recovered')).toBe('true');
    expect(await demo.isVisible('#recovered')).toBe(true);
    expect(await demo.textContent('#recovered')).toContain('Nothing was lost');
    const states = await demo.evaluate(
      () => (window as unknown as { tetherDemo: { states: string[] } }).tetherDemo.states,
    );
    expect(states).toEqual([
      'connecting',
      'connected',
      'reconnecting',
      'connecting',
      'connected',
      'reconnecting',
      'connecting',
      'connected',
    ]);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-recovered.png` });

    // The dashboard saw the drop: reconnecting counted, then connected again, and admissions per second.
    await dashboard.waitForFunction(
      () => Number(document.querySelector('#m-connected')?.getAttribute('data-value')) >= 1,
      undefined,
      { timeout: 5000 },
    );
    const history = await dashboard.evaluate(
      () =>
        (
          window as unknown as {
            tetherDashboard: { history: { byState: Record<string, number>; admitsPerS?: number }[] };
          }
        ).tetherDashboard.history,
    );
    expect(history.some((s) => (s.byState.reconnecting ?? 0) >= 1)).toBe(true);
    expect(history.some((s) => (s.admitsPerS ?? 0) > 0)).toBe(true);
    expect(new Set(history.map((s) => s.byState.connected)).size).toBeGreaterThan(1); // the count changed
    await dashboard.screenshot({ path: `${ARTIFACTS}/dashboard.png` });
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('shows failed in red, with the reason and what to do, for a bad token — and does not retry', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 420 } });
    const demo = await context.newPage();
    let sockets = 0;
    demo.on('websocket', () => sockets++);
    await demo.goto(`${gw.http}/demo?token=not-a-jwt&channel=room:nope`);
    await demo.waitForSelector('#status[data-state="failed"]', { timeout: 10_000 });
    expect(await demo.textContent('#status')).toContain('● failed: AUTH_INVALID_TOKEN');
    expect(await demo.textContent('#problem')).toMatch(/What to do: Obtain a new token/);
    const color = await demo.$eval('#status .dot', (el) => getComputedStyle(el).color);
    expect(color).toBe('rgb(214, 69, 69)');
    await new Promise((r) => setTimeout(r, 1500));
    expect(sockets).toBe(1);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-failed.png` });
    await context.close();
  });
});
