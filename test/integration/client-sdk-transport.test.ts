/**
 * The SDK's transport selection (issue 17): it tries WebSocket and falls back to SSE + POST
 * when a proxy refuses or stalls the upgrade, says which transport it uses (`stats()`),
 * can be forced to one, and a session made on WebSocket resumes over SSE when the network
 * starts blocking upgrades — with every event once, in order.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ChannelEvent, TetherClient } from '../../packages/client/src/index.ts';
import { publishMany } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { PartitionProxy } from '../support/partition-proxy.ts';
import { sdkProcess } from '../support/sdk-process.ts';
import { UpgradeProxy } from '../support/upgrade-proxy.ts';

const gateways: TestGateway[] = [];
const proxies: UpgradeProxy[] = [];
const clients: TetherClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

async function setUp(mode: 'pass' | 'refuse' | 'stall') {
  const gw = await startTestGateway();
  gateways.push(gw);
  const proxy = await UpgradeProxy.start(gw.gateway.port, mode);
  proxies.push(proxy);
  return { gw, proxy };
}

function client(url: string, options: Partial<ConstructorParameters<typeof TetherClient>[0]> = {}) {
  const token = mintToken({ sub: `sdk-${randomUUID().slice(0, 6)}` });
  const c = new TetherClient({ url, getToken: () => token, WebSocket, networkAware: false, ...options });
  clients.push(c);
  return c;
}

function received(c: TetherClient, channel: string): string[] {
  const ids: string[] = [];
  c.subscribe(channel).on('publication', (e: ChannelEvent) => ids.push(e.id));
  return ids;
}

async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('diagnose() takes the path the client takes', () => {
  it("with transport 'sse': auth, admission and pings over the SSE stream; no upgrade tried", async () => {
    const { proxy } = await setUp('refuse');
    const report = await client(proxy.url, { transport: 'sse' }).diagnose();
    expect(report.transport).toBe('sse');
    expect(report.checks.upgrade).toMatchObject({ ok: true, detail: expect.stringMatching(/not tried/) });
    expect(report.checks.sse).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^SSE stream opened/),
    });
    expect(report.checks.auth.ok).toBe(true);
    expect(report.checks.admission.ok).toBe(true);
    expect(report.latencySamplesMs).toHaveLength(5);
    expect(report).toMatchObject({ ok: true, suggestions: [] });
  });

  it("with transport 'auto' behind a proxy that refuses the upgrade: says so, then checks the fallback", async () => {
    const { proxy } = await setUp('refuse');
    const report = await client(proxy.url).diagnose();
    expect(report.checks.upgrade.ok).toBe(false);
    expect(report.transport).toBe('sse');
    expect(report.checks.sse?.ok).toBe(true);
    expect(report.checks.auth.ok).toBe(true);
    expect(report.latencySamplesMs).toHaveLength(5);
    expect(report.ok).toBe(false);
    expect(report.suggestions.join('\n')).toMatch(/upgrade failed.*falls back to server-sent events/);
  });

  it("with transport 'websocket' behind that proxy: no fallback is checked", async () => {
    const { proxy } = await setUp('refuse');
    const report = await client(proxy.url, { transport: 'websocket' }).diagnose();
    expect(report.checks.upgrade.ok).toBe(false);
    expect(report.transport).toBeUndefined();
    expect(report.checks.sse).toBeUndefined();
    expect(report.checks.auth).toMatchObject({ ok: false, detail: 'skipped: no connection opened' });
  });
});

describe('transport selection', () => {
  it('falls back to SSE when the proxy refuses the upgrade, and delivers both ways', async () => {
    const { gw, proxy } = await setUp('refuse');
    const c = client(proxy.url);
    const channel = `t:${randomUUID().slice(0, 8)}`;
    const ids = received(c, channel);
    c.connect();
    await c.ready();
    expect(c.stats().transport).toBe('sse');
    await c.getSubscription(channel)?.ready();
    const { id } = await c.publish(channel, { from: 'sdk' });
    const published = await publishMany(gw.http, channel, 20);
    await until(() => ids.length === 21, '21 events');
    expect(ids).toEqual([id, ...published]);
  });

  it('falls back when the upgrade stalls past upgradeTimeoutMs', async () => {
    const { proxy } = await setUp('stall');
    const c = client(proxy.url, { upgradeTimeoutMs: 500 });
    c.connect();
    await c.ready();
    expect(c.transport).toBe('sse');
  });

  it('uses WebSocket when the upgrade passes, and the transport can be forced', async () => {
    const { proxy } = await setUp('pass');
    const auto = client(proxy.url);
    const forced = client(proxy.url, { transport: 'sse' });
    auto.connect();
    forced.connect();
    await Promise.all([auto.ready(), forced.ready()]);
    expect(auto.stats().transport).toBe('websocket');
    expect(forced.stats().transport).toBe('sse');
  });

  it('a session made on WebSocket resumes over SSE once upgrades are blocked, losing nothing', async () => {
    const { gw, proxy } = await setUp('pass');
    const c = client(proxy.url, { backoffBaseMs: 100, backoffMaxMs: 200 });
    const channel = `t:${randomUUID().slice(0, 8)}`;
    const ids = received(c, channel);
    c.connect();
    await c.ready();
    await c.getSubscription(channel)?.ready();
    const sessionId = c.sessionId;
    expect(c.transport).toBe('websocket');
    const before = await publishMany(gw.http, channel, 10);
    await until(() => ids.length === 10, 'the first 10 events');

    proxy.mode = 'refuse';
    proxy.cutUpgraded();
    await until(() => c.state !== 'connected', 'the drop');
    const during = await publishMany(gw.http, channel, 100);
    await c.ready();
    expect(c.transport).toBe('sse');
    expect(c.sessionId).toBe(sessionId);
    const after = await publishMany(gw.http, channel, 10);
    await until(() => ids.length === 120, '120 events');
    expect(ids).toEqual([...before, ...during, ...after]);
    expect(c.stats()).toMatchObject({ transport: 'sse', reconnections: 1, duplicatesDropped: 0 });
  });
});

describe('disconnect() leaves nothing holding a Node process', () => {
  it('during a stalled upgrade: it exits at once, not after upgradeTimeoutMs', async () => {
    const { proxy } = await setUp('stall');
    const sdk = sdkProcess(proxy.url, await mintToken({ sub: 'stalled' }), { upgradeTimeoutMs: 20_000 });
    try {
      sdk.connect();
      await until(async () => JSON.stringify(await sdk.state()) === '{"connecting":"opening"}', 'opening');
      await new Promise((r) => setTimeout(r, 500)); // the upgrade out, unanswered: its timer runs
      expect(await sdk.disconnect()).toBeLessThan(5_000);
    } finally {
      sdk.kill();
    }
  }, 60_000);

  it('on the turn after connect(), before `ws` loaded: no socket is opened after it', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const proxy = await PartitionProxy.start(gw.gateway.port);
    const sdk = sdkProcess(proxy.url, await mintToken({ sub: 'changed-its-mind' }), {
      transport: 'websocket',
    });
    try {
      expect(await sdk.disconnect(true)).toBeLessThan(5_000);
      // Node 20 has no global WebSocket: the SDK imports `ws`, which takes turns, so disconnect()
      // comes first. Node 22+ has one (and imports CommonJS `ws` without yielding a turn too): the
      // socket is out before the next turn, and disconnect() drops it.
      if (!('WebSocket' in globalThis)) expect(proxy.connections).toBe(0);
    } finally {
      sdk.kill();
      await proxy.stop();
    }
  }, 60_000);

  for (const transport of ['websocket', 'sse'] as const) {
    it(`on a dead line (${transport}): the bye is given up after a grace, not waited for (30 s, or for ever)`, async () => {
      const gw = await startTestGateway();
      gateways.push(gw);
      const proxy = await PartitionProxy.start(gw.gateway.port);
      const sdk = sdkProcess(proxy.url, await mintToken({ sub: 'partitioned' }), { transport });
      try {
        sdk.connect();
        await until(async () => JSON.stringify(await sdk.state()).includes('connected'), 'connected');
        proxy.partition();
        expect(await sdk.disconnect()).toBeLessThan(5_000);
      } finally {
        sdk.kill();
        await proxy.stop();
      }
    }, 60_000);
  }
});
