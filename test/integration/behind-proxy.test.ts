/**
 * Behind a reverse proxy (issue 12, part 7; ops/nginx/): the upgrade's Origin is
 * checked against ALLOWED_ORIGINS (403 ORIGIN_NOT_ALLOWED, no socket), `Forwarded`
 * (RFC 7239) names the client like X-Forwarded-For when the peer is a trusted proxy,
 * and /health/websocket says when forwarding headers arrive that nobody trusts.
 * Run per edge (--project integration-uws / integration-ws): the upgrade path is shared.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConfigCheck } from '../../src/admin/health-report.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startLoggedGateway } from '../support/logged-gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const ADMIN = { authorization: 'Bearer test-admin-key-0123456789' };

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function gateway(overrides: Record<string, string>): Promise<TestGateway> {
  const gw = await startTestGateway(overrides);
  gateways.push(gw);
  return gw;
}

/** Connect with `headers` and say hello: welcomed, or the error code the hello got. */
async function hello(url: string, sub: string, headers: Record<string, string> = {}): Promise<string> {
  const client = await TestClient.connect(url, headers);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub }) });
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  return first.type === 'welcome' ? 'welcome' : String((first as { code: string }).code);
}

/** An upgrade the gateway refuses over HTTP: its status and JSON body. */
function refusedUpgrade(
  url: string,
  origin: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`the upgrade from ${origin} was accepted`));
    });
    ws.once('error', () => {}); // 'unexpected-response' below says what happened
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

async function healthCheck(gw: TestGateway, name: string): Promise<ConfigCheck | undefined> {
  const health = (await (await fetch(`${gw.http}/health/websocket`, { headers: ADMIN })).json()) as {
    config: ConfigCheck[];
  };
  return health.config.find((check) => check.name === name);
}

describe('ALLOWED_ORIGINS', () => {
  it('an upgrade from another origin gets 403 ORIGIN_NOT_ALLOWED and no socket', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: 'https://app.example.com' });
    const refused = await refusedUpgrade(gw.url, 'https://evil.example.net');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'ORIGIN_NOT_ALLOWED', origin: 'https://evil.example.net' });
    expect(refused.body.recovery).toContain('ALLOWED_ORIGINS');
    expect(gw.gateway.core.connections.size).toBe(0);
  });

  it('an allowed origin (in any case) and a client that sends none (not a browser) get a session', async () => {
    const gw = await gateway({ ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    expect(await hello(gw.url, 'page', { origin: 'https://APP.example.com' })).toBe('welcome');
    expect(await hello(gw.url, 'dev-page', { origin: 'http://localhost:5173' })).toBe('welcome');
    expect(await hello(gw.url, 'backend-client')).toBe('welcome');
    // Same host, another scheme or port: another origin.
    expect((await refusedUpgrade(gw.url, 'http://app.example.com')).status).toBe(403);
    expect((await refusedUpgrade(gw.url, 'https://app.example.com:8443')).status).toBe(403);
  });

  it('unset: any origin connects, and /health/websocket says so', async () => {
    const gw = await gateway({});
    expect(await hello(gw.url, 'anywhere', { origin: 'https://evil.example.net' })).toBe('welcome');
    expect(await healthCheck(gw, 'allowed_origins')).toMatchObject({
      ok: true, // advice, not a failure, outside production
      detail: expect.stringContaining('any web site'),
    });
  });
});

describe('ALLOWED_ORIGINS in production', () => {
  it('unset: a warning at start, and /health/websocket reports it not ok', async () => {
    const production = { NODE_ENV: 'production' }; // REDIS_URL: the test Redis (logged-gateway.ts)
    const gw = await startLoggedGateway(production);
    try {
      const warning = gw.lines().find((line) => line.msg.startsWith('ALLOWED_ORIGINS is unset'));
      expect(warning).toMatchObject({ level: 40 });
      expect(warning?.msg).toContain('ANY web site');
      const health = (await (await fetch(`${gw.http}/health/websocket`, { headers: ADMIN })).json()) as {
        config: ConfigCheck[];
      };
      expect(health.config.find((check) => check.name === 'allowed_origins')).toMatchObject({ ok: false });
    } finally {
      await gw.stop();
    }
    const quiet = await startLoggedGateway({ ...production, ALLOWED_ORIGINS: 'https://app.example.com' });
    await quiet.stop();
    expect(quiet.lines().some((line) => line.msg.startsWith('ALLOWED_ORIGINS is unset'))).toBe(false);
  });
});

describe('forwarding headers', () => {
  const forwarded = (ip: string) => ({ forwarded: `for=${ip};proto=https` });

  it('Forwarded from a trusted proxy names the client: distinct clients behind it are counted apart', async () => {
    const gw = await gateway({ TRUSTED_PROXIES: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '1' });
    expect(await hello(gw.url, 'f1', forwarded('203.0.113.7'))).toBe('welcome');
    expect(await hello(gw.url, 'f2', forwarded('"[2001:db8::7]:4711"'))).toBe('welcome');
    expect(await hello(gw.url, 'f3', forwarded('203.0.113.7'))).toBe('TOO_MANY_CONNECTIONS');
    expect(await healthCheck(gw, 'trusted_proxies')).toMatchObject({ ok: true });
  });

  it('with TRUSTED_PROXIES empty they are not believed, and /health/websocket warns', async () => {
    const gw = await gateway({ MAX_CONNECTIONS_PER_IP: '1' });
    expect(await healthCheck(gw, 'trusted_proxies')).toMatchObject({ ok: true });
    expect(await hello(gw.url, 'g1', forwarded('203.0.113.7'))).toBe('welcome');
    // Another client by its header, the same peer: counted as the peer.
    expect(await hello(gw.url, 'g2', { 'x-forwarded-for': '203.0.113.8' })).toBe('TOO_MANY_CONNECTIONS');
    const check = await healthCheck(gw, 'trusted_proxies');
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('TRUSTED_PROXIES is empty') });
    expect(check?.detail).toMatch(/^2 request\(s\) carried Forwarded/);
  });
});
