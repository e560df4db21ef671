/**
 * The SDK in chromium on a page of another origin than the gateway's (issue 17): over SSE the
 * page's fetches are cross-origin, so they work only with the gateway's CORS answers —
 * preflight for the POSTs, the page's origin on every response (src/edge/sse/sse-cors.ts) —
 * and the stream comes gzipped, as chromium asks. A page on an origin ALLOWED_ORIGINS does not
 * list ends in a fatal ORIGIN_NOT_ALLOWED instead of retrying: its WebSocket only sees the
 * upgrade fail, but the SSE fallback's fetch reads the 403.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { launchChromium } from './browser.ts';

const PAGE = `<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script type="module">
  import { TetherClient } from '/tether-client.js';
  window.TetherClient = TetherClient;
</script>`;

/** The part of the SDK the page's code uses (the page loads the bundle; nothing is imported here). */
interface PageClient {
  state: string;
  transport?: string;
  connect(): void;
  ready(): Promise<void>;
  subscribe(channel: string): {
    on(type: 'publication', listener: (event: { id: string }) => void): void;
    ready(): Promise<unknown>;
  };
  publish(channel: string, data: unknown): Promise<unknown>;
}
interface PageWindow {
  TetherClient: new (options: Record<string, unknown>) => PageClient;
  client: PageClient;
  received: string[];
}

let gateway: TestGateway;
let allowed: Server;
let refused: Server;
let browser: Browser;

/** A site of its own (its own port: its own origin) serving the page and the SDK's bundle. */
async function site(sdk: string): Promise<Server> {
  const server = createServer((req, res) => {
    const js = req.url === '/tether-client.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html; charset=utf-8' });
    res.end(js ? sdk : PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  // The SDK bundle as the gateway serves it (src/pages/page-assets.ts); the gateway that
  // serves it to us is not the one under test, whose ALLOWED_ORIGINS needs the sites' ports.
  const builder = await startTestGateway();
  const sdk = await (await fetch(`${builder.http}/assets/tether-client.js`)).text();
  await builder.stop();
  allowed = await site(sdk);
  refused = await site(sdk);
  gateway = await startTestGateway({ ALLOWED_ORIGINS: originOf(allowed), WS_COMPRESSION: 'dedicated' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  for (const server of [allowed, refused]) server?.close();
});

async function pageOn(server: Server): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${originOf(server)}/`);
  await page.waitForFunction(() => 'TetherClient' in window);
  return page;
}

describe('a page on another origin', () => {
  it('runs over SSE when its origin is allowed: events arrive in order, the stream gzipped', async () => {
    const page = await pageOn(allowed);
    const streams: Record<string, string>[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/sse') streams.push(response.headers());
    });
    const channel = `room:cors-${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'cors-page' });
    await page.evaluate(
      async ({ url, token, channel }) => {
        const { TetherClient } = window as unknown as PageWindow;
        const client = new TetherClient({ url, token, transport: 'sse' });
        const received: string[] = [];
        Object.assign(window, { client, received });
        client.connect();
        const room = client.subscribe(channel);
        room.on('publication', (event) => received.push(event.id));
        await room.ready();
        await client.publish(channel, { text: 'from the page' });
      },
      { url: gateway.url, token, channel },
    );
    const published = [await page.evaluate(() => (window as unknown as PageWindow).received[0])];
    for (let n = 1; n <= 5; n++) published.push(await publishHttp(gateway.http, channel, { n }));
    await page.waitForFunction((n) => (window as unknown as PageWindow).received.length >= n, 6);

    expect(await page.evaluate(() => (window as unknown as PageWindow).received)).toEqual(published);
    expect(await page.evaluate(() => (window as unknown as PageWindow).client.transport)).toBe('sse');
    expect(streams[0]).toMatchObject({
      'access-control-allow-origin': originOf(allowed),
      'content-encoding': 'gzip',
    });
    await page.close();
  });

  it('stops with ORIGIN_NOT_ALLOWED, not retrying, when its origin is not allowed', async () => {
    const page = await pageOn(refused);
    const outcome = await page.evaluate(
      async ({ url, token }) => {
        const { TetherClient } = window as unknown as PageWindow;
        const client = new TetherClient({ url, token }); // auto: WebSocket, then SSE
        client.connect();
        try {
          await client.ready();
          return { state: client.state };
        } catch (error) {
          const { code, retryable } = error as { code: string; retryable: boolean };
          return { state: client.state, code, retryable };
        }
      },
      { url: gateway.url, token: await mintToken({ sub: 'refused-page' }) },
    );
    expect(outcome).toEqual({ state: 'failed', code: 'ORIGIN_NOT_ALLOWED', retryable: false });
    await page.close();
  });
});
