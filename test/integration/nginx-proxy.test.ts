/**
 * ops/nginx/nginx.conf as shipped (ports, certificate and upstream replaced), run by
 * a real nginx in front of a real gateway (issue 12, part 7): TLS ends at nginx, a
 * session over wss:// gets what a backend publishes over https://, the gateway sees
 * the client's address and scheme through the trusted proxy, and an upgrade from a
 * page outside ALLOWED_ORIGINS is refused with 403 through the proxy.
 * Needs nginx (Debian package nginx-light; scripts/ensure-system-deps.sh installs it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../src/redis/embedded-redis.ts';
import type { EventFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const EXAMPLE = fileURLToPath(new URL('../../ops/nginx/nginx.conf', import.meta.url));
const ORIGIN = 'https://app.example.com';

let dir: string;
let gw: TestGateway;
let nginx: ChildProcess;
let tlsPort: number;
let plainPort: number;
let ca: Buffer;
const clients: TestClient[] = [];

/** The example with this test's ports and files; fails when a line it adapts has changed. */
function adapted(upstreamPort: number): string {
  const replacements: [string, string][] = [
    ['worker_processes auto;', 'worker_processes 1;'],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;`],
    ['listen 80; # ADAPT', `listen 127.0.0.1:${plainPort};`],
    ['/etc/ssl/tether/fullchain.pem', join(dir, 'cert.pem')],
    ['/etc/ssl/tether/privkey.pem', join(dir, 'key.pem')],
  ];
  let text = readFileSync(EXAMPLE, 'utf8');
  for (const [from, to] of replacements) {
    expect(text, `ops/nginx/nginx.conf has "${from}"`).toContain(from);
    text = text.replace(from, to);
  }
  return `${text}\n`;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-nginx-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'cert.pem'));
  gw = await startTestGateway({ TRUSTED_PROXIES: '127.0.0.1', ALLOWED_ORIGINS: ORIGIN });
  [tlsPort, plainPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'nginx.conf'), adapted(gw.gateway.port));
  nginx = spawn(
    'nginx',
    [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-e',
      join(dir, 'error.log'),
      '-g',
      `daemon off; pid ${join(dir, 'nginx.pid')};`,
    ],
    { stdio: 'ignore' },
  );
  await eventually(() => listening(tlsPort), `nginx listening on ${tlsPort}`);
});

afterAll(async () => {
  for (const client of clients.splice(0)) client.drop();
  nginx?.kill('SIGQUIT');
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function session(headers: Record<string, string>) {
  const client = await TestClient.connect(`wss://127.0.0.1:${tlsPort}/ws`, headers, { ca });
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub: 'proxied' }) });
  const welcome = await client.next((f): f is WelcomeFrame => f.type === 'welcome');
  return { client, welcome };
}

describe('the gateway behind ops/nginx/nginx.conf', () => {
  it('a wss:// session gets an event published over https://, and sees the client and its scheme', async () => {
    const { client } = await session({ origin: ORIGIN, 'x-forwarded-for': '203.0.113.7' });
    client.send({ type: 'subscribe', channel: 'proxied:1', ref: 's' });
    await client.next((f) => f.type === 'subscribed');

    const [conn] = [...gw.gateway.core.connections.values()];
    // nginx appended its peer (127.0.0.1, trusted) to what the client sent: the client is 203.0.113.7.
    expect(conn?.handshake).toMatchObject({ peer: '127.0.0.1', ip: '203.0.113.7', scheme: 'https' });

    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ channel: 'proxied:1', data: { via: 'nginx' } });
      const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
      const req = request(`https://127.0.0.1:${tlsPort}/publish`, { method: 'POST', headers, ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    const event = await client.next((f): f is EventFrame => f.type === 'event');
    expect(event).toMatchObject({ channel: 'proxied:1', data: { via: 'nginx' } });
  });

  it('an upgrade from a page outside ALLOWED_ORIGINS gets 403 ORIGIN_NOT_ALLOWED through the proxy', async () => {
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws`, { ca, origin: 'https://evil.example.net' });
      ws.once('open', () => reject(new Error('accepted')));
      ws.once('error', () => {});
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'ORIGIN_NOT_ALLOWED' });
  });

  it('plain http:// is redirected to https://', async () => {
    const response = await fetch(`http://127.0.0.1:${plainPort}/ws`, { redirect: 'manual' });
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toMatch(/^https:\/\//);
  });
});
