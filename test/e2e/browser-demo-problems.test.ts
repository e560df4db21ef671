/**
 * The demo page in chromium when what its address asks for cannot be had: each problem is
 * told in the status and the problem box, with something a page user can do about it —
 * a `channel` that is not a channel name (the page still connects), a channel the token
 * refuses (connected, but not subscribed), a `?token=` that has expired (stopped, not
 * retried: open the page with a new token).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../support/gateway.ts';
import { DOT_COLOURS, demoRecord, gatewayAndChromium, sleep, status } from './browser.ts';

const env = gatewayAndChromium();

/** The demo opened with these query parameters, and the uncaught errors it throws. */
async function openDemo(query: Record<string, string>): Promise<{ demo: Page; pageErrors: string[] }> {
  const demo = await env.browser.newPage();
  const pageErrors: string[] = [];
  demo.on('pageerror', (error) => pageErrors.push(error.message));
  await demo.goto(`${env.gw.http}/demo?${new URLSearchParams(query)}`);
  return { demo, pageErrors };
}

const problem = (demo: Page) =>
  demo.$eval('#problem', (el) => ({
    hidden: (el as HTMLElement).hidden,
    message: el.querySelector('#problem-message')?.textContent,
    code: el.querySelector('#problem-code')?.textContent,
    recovery: el.querySelector('#problem-recovery')?.textContent,
  }));

describe('the demo page tells what its address asks for that cannot be had', () => {
  it('a channel that is not a channel name: the page says so, and still connects', async () => {
    const token = await mintToken({ sub: 'bad-channel' });
    const { demo, pageErrors } = await openDemo({ token, channel: 'room/1' });
    await demo.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
    expect((await status(demo)).text).toBe('● connected, not subscribed: bad ?channel=');
    expect(await problem(demo)).toEqual({
      hidden: false,
      message: 'not a channel name: "room/1"',
      code: '?channel=',
      recovery:
        'What to do: Open the page with a channel name of letters, digits and _ . : - (up to 128), e.g. ?channel=room:lobby.',
    });
    await demo.fill('#message', 'nowhere to go');
    await demo.press('#message', 'Enter');
    expect(await demo.$$eval('#events li', (lis) => lis.length)).toBe(0);
    expect(pageErrors).toEqual([]);
    await demo.close();
  });

  it('a url the SDK refuses: the page says so and stays idle, nothing thrown', async () => {
    const token = await mintToken({ sub: 'bad-url' });
    const { demo, pageErrors } = await openDemo({ token, url: 'javascript:alert(1)' });
    let sockets = 0;
    demo.on('websocket', () => sockets++);
    await demo.waitForFunction(() => document.querySelector('#problem-code')?.textContent !== '');
    expect(await problem(demo)).toMatchObject({
      hidden: false,
      message: expect.stringContaining('ws:// or wss://'),
      code: '?url=',
    });
    expect((await status(demo)).text).toBe('○ idle');
    await sleep(500);
    expect(sockets).toBe(0);
    expect(pageErrors).toEqual([]);
    await demo.close();
  });

  it('a channel the token refuses: connected, not subscribed, and why', async () => {
    const token = await mintToken({ sub: 'refused', channels: ['room:ok'] });
    const { demo, pageErrors } = await openDemo({ token, channel: 'room:secret' });
    await demo.waitForFunction(() => document.querySelector('#problem-code')?.textContent !== '');
    expect(await status(demo)).toEqual({
      state: 'connected',
      text: '● connected, not subscribed: FORBIDDEN_CHANNEL',
      colour: DOT_COLOURS.green,
    });
    expect(await problem(demo)).toMatchObject({
      hidden: false,
      message: expect.stringMatching(/^Not subscribed to room:secret: /),
      code: 'FORBIDDEN_CHANNEL',
    });
    expect(pageErrors).toEqual([]);
    await demo.close();
  });

  it('a ?token= that has expired: stopped, with what to do — not retried with the same token', async () => {
    const token = await mintToken({ sub: 'expired', expiresIn: '-10s' });
    const { demo, pageErrors } = await openDemo({ token });
    let sockets = 0;
    demo.on('websocket', () => sockets++);
    await demo.waitForSelector('#status[data-state="failed"]', { timeout: 10_000 });
    expect(await status(demo)).toMatchObject({
      text: '● failed: AUTH_TOKEN_EXPIRED',
      colour: DOT_COLOURS.red,
    });
    expect(await problem(demo)).toMatchObject({
      code: 'AUTH_TOKEN_EXPIRED',
      recovery: 'What to do: The token in this page’s address has expired: open the page with a new ?token=.',
    });
    await sleep(1500); // long past the first backoff windows: a retry would show by now
    expect((await demoRecord(demo)).states).toEqual(['connecting', 'failed']);
    expect(sockets).toBeLessThanOrEqual(1);
    expect(pageErrors).toEqual([]);
    await demo.close();
  });
});
