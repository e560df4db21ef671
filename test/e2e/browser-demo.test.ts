/**
 * The demo page and the ops dashboard in a real browser (Debian chromium driven by
 * playwright-core) against a real gateway: the page connects; the gateway drops
 * every connection (abruptly, then with a retry hint); the indicator shows
 * reconnecting, then connected; every event is on the page exactly once, in
 * order, the newest above the composer; the dashboard's counts follow each step.
 * Then the browser goes offline and back, a page starts idle, and a failed
 * connection is retried by hand. Screenshots land in test-artifacts/.
 */

import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { mintToken, publishHttp } from '../support/gateway.ts';
import {
  ARTIFACTS,
  DOT_COLOURS,
  demoRecord,
  gatewayAndChromium,
  newestMessageVisible,
  shownIds,
  sleep,
  status,
} from './browser.ts';

const env = gatewayAndChromium();

async function publishAll(channel: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n <= to; n++)
    ids.push(await publishHttp(env.gw.http, channel, { user: 'backend', text: `message ${n}` }));
  return ids;
}

/** Close every socket from the gateway's side. */
function dropAll(how: 'abrupt' | 'restart'): number {
  let dropped = 0;
  for (const conn of [...env.gw.gateway.core.connections.values()]) {
    if (how === 'abrupt')
      conn.socket?.close(); // no close frame: the browser sees 1006
    else conn.close('SERVICE_RESTART', { retryAfterMs: 2500, detail: 'e2e: every connection dropped' });
    dropped++;
  }
  return dropped;
}

interface Sample {
  at: number;
  byState: Record<string, number | undefined>;
  admitsPerS?: number;
}

/** Wait until the dashboard's newest sample shows exactly these counts by actor state (absent = 0). */
function dashboardShows(dashboard: Page, counts: Record<string, number>, timeout = 10_000) {
  return dashboard.waitForFunction(
    (expected) => {
      const history = (window as unknown as { tetherDashboard: { history: Sample[] } }).tetherDashboard
        .history;
      const now = history.at(-1);
      return (
        now !== undefined && Object.entries(expected).every(([state, n]) => (now.byState[state] ?? 0) === n)
      );
    },
    counts,
    { timeout },
  );
}

/** The same, over a sample already taken. */
const shows = (sample: Sample, counts: Record<string, number>) =>
  Object.entries(counts).every(([state, n]) => (sample.byState[state] ?? 0) === n);

const waitForStates = (page: Page, count: number, last: string) =>
  page.waitForFunction(
    ([n, state]) => {
      const states = (window as unknown as { tetherDemo: { states: string[] } }).tetherDemo.states;
      return states.length >= n && states.at(-1) === state;
    },
    [count, last] as const,
    { timeout: 15_000 },
  );

describe('demo page and dashboard in chromium', () => {
  it('reconnects after the gateway drops everyone, showing each event exactly once', async () => {
    const channel = `room:e2e-${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'browser-user' });
    const context = await env.browser.newContext({ viewport: { width: 1200, height: 760 } });
    const dashboard = await context.newPage();
    await dashboard.goto(`${env.gw.http}/dashboard`);
    await dashboard.waitForFunction(
      () => document.querySelector('#m-connected')?.getAttribute('data-value') !== null,
    );
    const base = Number(await dashboard.getAttribute('#m-connected', 'data-value')); // others' connections

    const demo = await context.newPage();
    const consoleErrors: string[] = [];
    demo.on('pageerror', (error) => consoleErrors.push(error.message));
    await demo.goto(`${env.gw.http}/demo?${new URLSearchParams({ token, channel, user: 'tester' })}`);
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect(await status(demo)).toMatchObject({ text: '● connected', colour: DOT_COLOURS.green });
    expect(await demo.isDisabled('#reconnect')).toBe(true); // nothing to reconnect
    // Wait until the subscription is live before publishing.
    await demo.waitForFunction(
      async () => {
        const t = (
          window as unknown as {
            tetherDemo: { client: { subscribe(c: string): { ready(): Promise<unknown> } } };
          }
        ).tetherDemo;
        return t.client
          .subscribe(new URLSearchParams(location.search).get('channel') as string)
          .ready()
          .then(() => true);
      },
      undefined,
      { timeout: 10_000 },
    );
    const ours = { connected: base + 1, reconnecting: 0 };
    const away = { connected: base, reconnecting: 1 };
    await dashboardShows(dashboard, ours); // our one connection, counted

    const published = await publishAll(channel, 1, 10);
    await demo.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, published.length);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-connected.png` });

    // 1. Abrupt: every socket dies without a close frame; events keep arriving in Redis meanwhile.
    expect(dropAll('abrupt')).toBeGreaterThan(0);
    published.push(...(await publishAll(channel, 11, 20)));
    await waitForStates(demo, 5, 'connected');
    expect(await demo.isVisible('#recovered')).toBe(true);
    expect(await demo.textContent('#recovered')).toContain('Nothing was lost');

    // 2. Coded, with a retry hint: the indicator holds "reconnecting in …" long enough to see.
    expect(dropAll('restart')).toBeGreaterThan(0);
    await demo.waitForSelector('#status[data-state="reconnecting"]', { timeout: 5000 });
    const reconnecting = await status(demo);
    expect(reconnecting.text).toMatch(/^◐ reconnecting in \d s/);
    expect(reconnecting.colour).toBe(DOT_COLOURS.yellow);
    expect(await demo.isVisible('#recovered')).toBe(false); // the last recovery's notice went with it
    expect(await demo.isDisabled('#reconnect')).toBe(false);
    published.push(...(await publishAll(channel, 21, 30)));
    await dashboardShows(dashboard, away, 5000);
    await demo.screenshot({ path: `${ARTIFACTS}/demo-reconnecting.png` });
    await dashboard.screenshot({ path: `${ARTIFACTS}/dashboard-reconnecting.png` });

    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    await demo.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, published.length);
    await sleep(500); // a late duplicate would show up now
    expect(await shownIds(demo)).toEqual(published);
    const record = await demoRecord(demo);
    expect(record.received).toEqual(published);
    expect(await newestMessageVisible(demo)).toBe(true); // not hidden under the composer
    expect(await demo.getAttribute('#recovered', 'data-recovered')).toBe('true');
    expect(await demo.isVisible('#recovered')).toBe(true);
    expect(await demo.textContent('#recovered')).toContain('Nothing was lost');
    expect(record.states).toEqual([
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

    // The dashboard followed each step, in order: ours connected, then reconnecting, then back.
    await dashboardShows(dashboard, ours);
    const history = await dashboard.evaluate(
      () => (window as unknown as { tetherDashboard: { history: Sample[] } }).tetherDashboard.history,
    );
    const times = history.map((s) => s.at);
    expect(times).toEqual([...times].sort((a, b) => a - b)); // one scrape at a time, in order
    const first = history.findIndex((s) => shows(s, ours));
    const gone = history.findIndex((s, i) => i > first && shows(s, away));
    const back = history.findIndex((s, i) => i > gone && shows(s, ours));
    expect({ first: first >= 0, thenAway: gone > first, thenBack: back > gone }).toEqual({
      first: true,
      thenAway: true,
      thenBack: true,
    });
    expect(history.some((s) => (s.admitsPerS ?? 0) > 0)).toBe(true); // our reconnects were admitted
    await dashboard.screenshot({ path: `${ARTIFACTS}/dashboard.png` });
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('starts idle (grey ○); offline spends no attempts, and back online it connects', async () => {
    const token = await mintToken({ sub: 'offline-user' });
    const context = await env.browser.newContext({ viewport: { width: 1000, height: 420 } });
    const demo = await context.newPage();
    let sockets = 0;
    demo.on('websocket', () => sockets++);
    await demo.goto(`${env.gw.http}/demo?${new URLSearchParams({ token, autoconnect: 'false' })}`);
    expect(await status(demo)).toEqual({ state: 'idle', text: '○ idle', colour: DOT_COLOURS.grey });
    await demo.screenshot({ path: `${ARTIFACTS}/demo-idle.png` });
    expect(await demo.textContent('#reconnect')).toBe('Connect');
    await sleep(300);
    expect(sockets).toBe(0); // idle means idle

    await demo.click('#reconnect');
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect(sockets).toBe(1);

    await context.setOffline(true);
    await demo.waitForSelector('#status[data-state="reconnecting"]', { timeout: 5000 });
    expect(await status(demo)).toMatchObject({
      text: '◐ offline — waiting for the network',
      colour: DOT_COLOURS.yellow,
    });
    await sleep(1500); // long past the first backoff windows: attempts would show by now
    await demo.screenshot({ path: `${ARTIFACTS}/demo-offline.png` });
    expect(sockets).toBe(1);
    const offline = await demoRecord(demo);
    expect(offline.detailedState).toEqual({ reconnecting: 'offline' });
    expect(offline.attempts.at(-1)).toBe(0);

    await context.setOffline(false);
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect(sockets).toBe(2);
    const back = await demoRecord(demo);
    expect(back.states).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
    expect(back.attempts).toEqual([0, 0, 0, 0, 0]);
    await context.close();
  });

  it('shows failed in red, with the reason and what to do, for a bad token — and retries only by hand', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1000, height: 420 } });
    const demo = await context.newPage();
    let sockets = 0;
    demo.on('websocket', () => sockets++);
    await demo.goto(`${env.gw.http}/demo?token=not-a-jwt&channel=room:nope`);
    await demo.waitForSelector('#status[data-state="failed"]', { timeout: 10_000 });
    expect(await status(demo)).toMatchObject({
      text: '● failed: AUTH_INVALID_TOKEN',
      colour: DOT_COLOURS.red,
    });
    expect(await demo.textContent('#problem')).toMatch(/What to do: Obtain a new token/);
    await sleep(1500);
    expect(sockets).toBe(1); // no retry storm
    await demo.screenshot({ path: `${ARTIFACTS}/demo-failed.png` });

    expect(await demo.textContent('#reconnect')).toBe('Reconnect now');
    await demo.click('#reconnect');
    await waitForStates(demo, 4, 'failed'); // connecting → failed, once more
    expect(sockets).toBe(2); // the button opened a new socket
    expect((await demoRecord(demo)).states).toEqual(['connecting', 'failed', 'connecting', 'failed']);
    await context.close();
  });
});
