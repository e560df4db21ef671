/**
 * Live Stately inspection (INSPECT): the gateway serves the inspector bridge on
 * loopback and streams the pool's and the chosen connections' transitions to
 * every browser page on it. Here a `ws` client stands in for the browser page.
 * With INSPECT=off, @statelyai/inspect is not even loaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { eventually, settle } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

interface InspectionEvent {
  type: string;
  name?: string;
  sessionId: string;
  definition?: string;
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
}

const opened: { close(): void }[] = [];
const gateways: TestGateway[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) item.close();
  await Promise.all(gateways.splice(0).map((gw) => gw.stop()));
});

async function inspectedGateway(inspect: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const gw = await startTestGateway({ ...env, INSPECT: inspect, INSPECT_PORT: String(port) });
  gateways.push(gw);
  const { events } = await openPage(port);
  return { gw, port, events };
}

/** A browser page on the bridge, and the events it received. */
async function openPage(port: number) {
  const events: InspectionEvent[] = [];
  const page = await eventually(
    () =>
      new Promise<WebSocket | undefined>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        // Listening from the start: the replay may arrive with the handshake.
        ws.on('message', (data) => events.push(JSON.parse(data.toString()) as InspectionEvent));
        ws.once('open', () => resolve(ws));
        ws.once('error', () => resolve(undefined));
      }),
    'the inspector bridge',
  );
  opened.push(page);
  return { page, events };
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Session IDs of connection actors announced to the inspector, by user (from later snapshots). */
function userOf(events: InspectionEvent[], sessionId: string): unknown {
  return events.find((e) => e.sessionId === sessionId && e.snapshot?.context?.userId)?.snapshot?.context
    ?.userId;
}

describe('INSPECT', () => {
  it('all: the pool and every connection, with machine definitions and live snapshots', async () => {
    const { port, gw, events } = await inspectedGateway('all');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(await page.text()).toContain('stately.ai/inspect');

    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'ines' }) });
    await settle(client);
    const connection = await eventually(
      () => events.find((e) => e.type === '@xstate.actor' && e.name === 'connection'),
      'a connection actor announced',
    );
    expect(events.some((e) => e.type === '@xstate.actor' && e.name === 'pool')).toBe(true);
    expect(JSON.parse(connection.definition as string)).toMatchObject({ id: 'connection' });
    await eventually(
      () => events.some((e) => e.sessionId === connection.sessionId && e.snapshot?.value === 'connected'),
      'the connected snapshot',
    );
    client.close();
  });

  it('users:ID attaches only those users’ connections, once they authenticated', async () => {
    const { gw, events } = await inspectedGateway('users:vip');
    const vip = await TestClient.session(gw.url, { token: await mintToken({ sub: 'vip' }) });
    const other = await TestClient.session(gw.url, { token: await mintToken({ sub: 'someone' }) });
    await settle(vip.client);
    await settle(other.client);
    vip.client.send({ type: 'bye' });
    await vip.client.waitClosed();
    const announced = await eventually(() => {
      const actors = events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection');
      return actors.length > 0 && actors.every((a) => userOf(events, a.sessionId)) ? actors : undefined;
    }, 'the vip connection with its user');
    expect(announced.map((a) => userOf(events, a.sessionId))).toEqual(['vip']);
    await eventually(
      () => events.some((e) => e.snapshot?.value === 'closed' && e.snapshot.context?.userId === 'vip'),
      'the vip session closing, live',
    );
    other.client.close();
  });

  it('users:ID shows those users’ handshakes that end before welcome too (refused by the pool)', async () => {
    const full = { MAX_CONNECTIONS: '1', ADMISSION_QUEUE_MAX: '0' };
    const { gw, events } = await inspectedGateway('users:vip', full);
    const first = await TestClient.session(gw.url, { token: await mintToken({ sub: 'vip' }) });
    const refused = await TestClient.connect(gw.url);
    refused.send({ type: 'hello', token: await mintToken({ sub: 'vip' }) });
    expect((await refused.waitClosed()).code).toBe(1013);
    await eventually(
      () =>
        events.some(
          (e) =>
            e.snapshot?.value === 'failed' &&
            e.snapshot.context?.userId === 'vip' &&
            e.snapshot.context.failure === 'SERVER_BUSY',
        ),
      'the refused vip handshake, live',
      3000,
    );
    first.client.close();
  });

  it('sample:N attaches one connection actor in N', async () => {
    const { gw, events } = await inspectedGateway('sample:2');
    const token = await mintToken({ sub: 'sam' });
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await TestClient.session(gw.url, { token }));
    for (const { client } of sessions) await settle(client);
    const connectionIds = new Set(sessions.map((s) => s.welcome.connectionId));
    const inspected = await eventually(() => {
      const seen = new Set(
        events
          .map((e) => e.snapshot?.context?.connectionId)
          .filter((id): id is string => typeof id === 'string' && connectionIds.has(id)),
      );
      return seen.size >= 2 ? seen : undefined;
    }, 'two sampled connections');
    expect(inspected.size).toBe(2);
    expect(events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection')).toHaveLength(2);
    for (const { client } of sessions) client.close();
  });

  it('the bridge is on loopback only, its page dials the host it came from, and pages cannot inject', async () => {
    const { port, events } = await inspectedGateway('pool');
    expect(await accepts('127.0.0.1', port)).toBe(true);
    // 127.0.0.2 is loopback too: refused, so the bridge is bound to 127.0.0.1, not 0.0.0.0.
    expect(await accepts('127.0.0.2', port)).toBe(false);
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(html).toContain('location.host'); // works through ssh -L
    expect(html).not.toContain('localhost:');

    await eventually(() => events.some((e) => e.name === 'pool'), 'the pool announced');
    // A page that joins later is told about the machines it missed…
    const late = await openPage(port);
    await eventually(() => late.events.some((e) => e.name === 'pool'), 'the pool replayed');
    // …and what a page sends reaches no one.
    late.page.send(JSON.stringify({ type: '@xstate.actor', name: 'forged', sessionId: 'x' }));
    const { client } = await TestClient.session(gateways[0]?.url as string, {
      token: await mintToken({ sub: 'pia' }),
    });
    await settle(client);
    expect([...events, ...late.events].some((e) => e.name === 'forged')).toBe(false);
    client.close();
  });

  it('INSPECT=off loads nothing of @statelyai/inspect; on, it is loaded then', () => {
    const resolved = join(mkdtempSync(join(tmpdir(), 'tether-inspect-')), 'resolved');
    // A module hook that notes every import of @statelyai/inspect, in a child process.
    const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@statelyai/inspect')) appendFileSync(${JSON.stringify(resolved)}, specifier + '\\n');
  return next(specifier, context);
}`;
    const script = `import { register } from 'node:module';
import { existsSync } from 'node:fs';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
await import('./src/gateway.ts');
const { LiveInspector } = await import('./src/admin/live-inspector.ts');
const logger = { warn() {} };
if (LiveInspector.start({ mode: { kind: 'off' }, port: 1 }, logger) !== undefined) throw new Error('started');
console.log('after off:', existsSync(${JSON.stringify(resolved)}));
const on = await LiveInspector.start({ mode: { kind: 'pool' }, port: 0 }, logger);
on.stop();
console.log('after on:', existsSync(${JSON.stringify(resolved)}));
process.exit(0);`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('after off: false');
    expect(run.stdout).toContain('after on: true');
    expect(existsSync(resolved) && readFileSync(resolved, 'utf8')).toContain('@statelyai/inspect');
  });

  it('pool: the pool only', async () => {
    const { gw, events } = await inspectedGateway('pool');
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'pam' }) });
    await settle(client);
    await eventually(() => events.some((e) => e.type === '@xstate.actor' && e.name === 'pool'), 'the pool');
    expect(events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection')).toEqual([]);
    client.close();
  });
});
