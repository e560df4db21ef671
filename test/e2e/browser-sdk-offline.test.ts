import { describe, expect, it } from 'vitest';
import { mintToken } from '../support/gateway.ts';
import { gatewayAndChromium, sleep } from './browser.ts';

const env = gatewayAndChromium();

interface Probe {
  client: { state: string; detailedState: unknown; stats(): { attempt: number }; disconnect(): void };
  states: string[];
  errors: string[];
}
/** In the page (a function of this file does not travel there): what the client said. */
declare const probe: Probe;

describe('the SDK in a browser that starts offline', () => {
  it('waits for the network without spending attempts, and connects as soon as it returns', async () => {
    const token = await mintToken({ sub: 'starts-offline' });
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${env.gw.http}/`);
    await page.addScriptTag({
      type: 'module',
      content: "import * as sdk from '/assets/tether-client.js'; window.sdk = sdk;",
    });
    await page.waitForFunction(() => 'sdk' in window);
    await context.setOffline(true);
    await page.evaluate(
      ({ url, token }) => {
        const { TetherClient } = (
          window as unknown as { sdk: typeof import('../../packages/client/src/index.ts') }
        ).sdk;
        const client = new TetherClient({
          url,
          // A token endpoint: it needs the network like the socket does.
          getToken: () => fetch('/livez', { cache: 'no-store' }).then(() => token),
          maxReconnectAttempts: 3,
          // A backoff far longer than the wait below: connecting in time means no backoff was waited out.
          backoffBaseMs: 60_000,
          backoffMaxMs: 60_000,
        });
        const states: string[] = [];
        const errors: string[] = [];
        client.on('state', (s) => states.push(`${s.newState}${s.error ? ` ${s.error.code}` : ''}`));
        client.on('error', (e) => errors.push(e.code));
        Object.assign(window, { probe: { client, states, errors } });
        client.connect();
      },
      { url: env.gw.url, token },
    );
    await page.waitForFunction(() => probe.client.state === 'reconnecting');
    await sleep(3000); // time enough to spend three attempts, were any spent
    const offline = await page.evaluate(() => ({
      detailed: probe.client.detailedState,
      attempt: probe.client.stats().attempt,
      states: [...probe.states],
      errors: [...probe.errors],
    }));
    expect(offline).toEqual({
      detailed: { reconnecting: 'offline' },
      attempt: 0,
      states: ['connecting', 'reconnecting NETWORK_OFFLINE'],
      errors: ['NETWORK_OFFLINE'],
    });

    await context.setOffline(false);
    await page.waitForFunction(() => probe.client.state === 'connected', null, { timeout: 15_000 });
    expect(await page.evaluate(() => probe.states)).toEqual([
      'connecting',
      'reconnecting NETWORK_OFFLINE',
      'connecting',
      'connected',
    ]);
    await page.evaluate(() => probe.client.disconnect());
    await context.close();
  }, 60_000);
});
