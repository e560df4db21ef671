/**
 * The gateway's HTTP answers, as a backend or a browser sees them: every
 * `POST /publish` — refused ones too — is counted in tether_http_requests_total
 * and logged; every error body names a correlation ID, the same one the log line
 * carries; and `/livez` and `/readyz` can be read by a page of another origin
 * (the client SDK's diagnose() does that), checked in a real chromium.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX_PREFIX } from '../../src/shared/identifiers.ts';
import { launchChromium } from '../e2e/browser.ts';
import { eventually, sleep } from '../support/events.ts';
import { TEST_API_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

let gw: LoggedGateway;
beforeAll(async () => {
  gw = await startLoggedGateway();
});
afterAll(() => gw?.stop());

async function publishCount(status: string): Promise<number> {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), 'tether_http_requests_total', {
    route: 'POST /publish',
    status,
  });
}

function publish(headers: Record<string, string>, body: string) {
  return fetch(`${gw.http}/publish`, { method: 'POST', headers, body });
}

describe('POST /publish answers', () => {
  it('a refused key is counted, logged and answered with the correlation ID', async () => {
    const before = await publishCount('401');
    const res = await publish({ 'x-api-key': 'wrong-key-0123456789', 'x-correlation-id': 'refused-1' }, '{}');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED', correlationId: 'refused-1' });
    expect(await publishCount('401')).toBe(before + 1);
    expect(gw.lines().find((line) => line.correlationId === 'refused-1')).toMatchObject({
      route: 'POST /publish',
      status: 401,
      ip: '127.0.0.1',
      level: 40,
    });
  });

  it('every error body names a correlation ID (given or generated), found in the log', async () => {
    const authorized = { authorization: `Bearer ${TEST_API_KEY}` };
    const malformed = await publish({ ...authorized, 'x-correlation-id': 'bad-json-1' }, '{not json');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'MALFORMED_MESSAGE', correlationId: 'bad-json-1' });

    const inbox = await publish(authorized, JSON.stringify({ channel: `${INBOX_PREFIX}x`, data: 1 }));
    expect(inbox.status).toBe(403);
    const { correlationId } = (await inbox.json()) as { correlationId: string };
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(gw.lines().find((line) => line.correlationId === correlationId)).toMatchObject({ status: 403 });

    const ok = await publish(authorized, JSON.stringify({ channel: 'http:ok', data: 1 }));
    expect(await ok.json()).toHaveProperty('correlationId');
  });

  it('a publish its backend abandoned mid-body is counted as 499, not as a 400 it was never sent', async () => {
    const [before400, before499] = [await publishCount('400'), await publishCount('499')];
    const correlationId = 'abandoned-1';
    const socket = connect(Number(new URL(gw.http).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /publish HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TEST_API_KEY}\r\n` +
        `x-correlation-id: ${correlationId}\r\ncontent-length: 100\r\n\r\n{"channel":`,
    );
    await sleep(100);
    socket.destroy();
    const line = () => gw.lines().find((l) => l.correlationId === correlationId);
    await eventually(line, 'the log line of the abandoned publish');
    expect(line()).toMatchObject({ status: 499, level: 30, msg: 'POST /publish aborted by the client' });
    expect(await publishCount('499')).toBe(before499 + 1);
    expect(await publishCount('400')).toBe(before400);
  });

  it('admin refusals and unknown routes name one too', async () => {
    const admin = await fetch(`${gw.http}/ws/stats/detailed`, { headers: { 'x-correlation-id': 'adm-1' } });
    expect(await admin.json()).toMatchObject({ error: 'UNAUTHORIZED', correlationId: 'adm-1' });
    expect(
      gw.lines().find((line) => line.audit === 'admin.denied' && line.correlationId === 'adm-1'),
    ).toBeDefined();
    const missing = await fetch(`${gw.http}/no-such-route`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toHaveProperty('correlationId');
  });
});

describe('public health from another origin', () => {
  let browser: Browser;
  let otherOrigin: Server;
  beforeAll(async () => {
    browser = await launchChromium();
    otherOrigin = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>'),
    );
    await new Promise<void>((resolve) => otherOrigin.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => otherOrigin?.close(resolve));
  });

  it('a page served elsewhere can read /livez and /readyz', async () => {
    for (const path of ['/livez', '/readyz']) {
      const res = await fetch(`${gw.http}${path}`);
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
    }
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(otherOrigin.address() as AddressInfo).port}/`);
      const read = await page.evaluate(async (gateway) => {
        const [live, ready] = await Promise.all(
          ['/livez', '/readyz'].map((path) => fetch(`${gateway}${path}`).then((r) => r.json())),
        );
        return { live, ready };
      }, gw.http);
      expect(read).toEqual({ live: { status: 'ok' }, ready: { ready: true, redis: true, draining: false } });
    } finally {
      await page.close();
    }
  });
});
