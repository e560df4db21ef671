/**
 * The client SDK against real gateways in Node (real uWS sockets, real Redis):
 * - a gateway process is SIGKILLed mid-stream and restarted; the client goes
 *   connecting → connected → reconnecting → connected and gets events 1..N exactly
 *   once, in order — including those published while its gateway was dead;
 * - a non-retryable auth error ends in `failed` after one attempt, no retry storm;
 * - the crash, auth errors, a resume and admission control hold over both transports
 *   (WebSocket and the SSE fallback forced with `transport`, issue 17);
 * - actions resolve with the worker's reply; diagnose() reports a healthy path;
 * - the repository's `tether/client` export, as built by `npm install` (prepare), loads
 *   in plain Node 20 — no tsx — finds `ws` itself and talks to a real gateway. (The packed
 *   package, installed elsewhere: client-sdk-package.test.ts.)
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type ChannelEvent,
  type StateChange,
  TetherClient,
  TetherClientError,
} from '../../packages/client/src/index.ts';
import { type ActionWorker, startActionWorker } from '../../src/actions/action-worker.ts';
import { freePort } from '../../src/redis/embedded-redis.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_SECRET,
  type TestGateway,
} from '../support/gateway.ts';
import { type GatewayProcess, processEnv, spawnGateway } from '../support/gateway-process.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (done()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what()}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

describe('SDK through a gateway crash (SIGKILL) and restart', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let publisher: TestGateway; // a second gateway process that stays up: where the backend publishes
  let gateway: GatewayProcess | undefined; // the one the client is connected to, and which dies
  let env: Record<string, string>;
  beforeAll(async () => {
    publisher = await startTestGateway({ REDIS_PREFIX: prefix });
    env = processEnv({ REDIS_PREFIX: prefix, PORT: String(await freePort()) });
    gateway = await spawnGateway(env);
  });
  afterAll(async () => {
    await gateway?.kill('SIGTERM');
    await publisher?.stop();
  });

  // A client of each transport through the same crash: one restart, not two.
  it('resumes and delivers events 1..N exactly once, in order, over each transport', async () => {
    const N = 60;
    const channel = `feed:${randomUUID()}`;
    const followers = TRANSPORTS.map((transport) => {
      const client = new TetherClient({
        url: `ws://127.0.0.1:${env.PORT}/ws`,
        WebSocket,
        transport,
        getToken: () => mintToken({ sub: `crash-test-${transport}` }),
        backoffBaseMs: 100,
        backoffMaxMs: 500,
        maxReconnectAttempts: Number.POSITIVE_INFINITY, // a restart under load can take seconds
      });
      const follower = { transport, client, states: [] as string[], events: [] as ChannelEvent[] };
      const notices: unknown[] = [];
      client.on('state', ({ newState }) => follower.states.push(newState));
      client.on('event', (e) => follower.events.push(e));
      client.on('recovered', (r) => notices.push(r));
      return { ...follower, notices, firstSession: '' };
    });
    for (const f of followers) {
      f.client.connect();
      await f.client.ready();
      await f.client.subscribe(channel).ready();
      f.firstSession = f.client.sessionId as string;
      expect(f.client.transport).toBe(f.transport);
    }

    for (let n = 1; n <= N; n++) {
      await publishHttp(publisher.http, channel, { n });
      if (n === 20) await gateway?.kill('SIGKILL'); // mid-stream: some of 1..20 may still be in flight
      if (n === 40) gateway = await spawnGateway(env); // 21..40 landed in Redis while it was dead
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const { transport, events, states } of followers)
      await until(
        () => events.length >= N,
        30_000,
        () => `${N} events over ${transport}, got ${events.length}; states ${states.join(' → ')}`,
      );
    await new Promise((r) => setTimeout(r, 300)); // room for a late duplicate to show itself

    for (const { client, events, states, notices, firstSession } of followers) {
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual(
        Array.from({ length: N }, (_, i) => i + 1),
      );
      const ids = events.map((e) => e.id);
      expect(new Set(ids).size).toBe(N);
      expect(states.slice(0, 3)).toEqual(['connecting', 'connected', 'reconnecting']);
      expect(states.at(-1)).toBe('connected');
      expect(states.filter((s) => s !== 'connecting' && s !== 'reconnecting')).toEqual([
        'connected',
        'connected',
      ]);
      expect(client.sessionId).toBe(firstSession); // the same session, re-attached
      expect(notices).toContainEqual(expect.objectContaining({ resumed: true, recovered: true }));
      client.disconnect();
    }
  }, 60_000);
});

describe('SDK against an in-process gateway', () => {
  let gw: TestGateway;
  let worker: ActionWorker;
  beforeAll(async () => {
    gw = await startTestGateway();
    worker = startActionWorker({
      redisUrl: gw.redisUrl,
      prefix: gw.prefix,
      handlers: { echo: (data) => data },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await gw?.stop();
  });

  /** Connections the gateway opened so far, whatever the transport. */
  async function opened(): Promise<number> {
    const text = await (await fetch(`${gw.http}/metrics`)).text();
    return sampleValue(parsePrometheusText(text), 'tether_connections_opened_total');
  }

  it.each(TRANSPORTS)(
    'a non-retryable auth error ends in failed after one attempt — no retry storm (%s)',
    async (transport: Transport) => {
      const before = await opened();
      const client = new TetherClient({
        url: gw.url,
        WebSocket,
        transport,
        token: await mintToken({ sub: 'mallory' }, 'a-different-secret-of-at-least-32-characters'),
        backoffBaseMs: 10,
        backoffMaxMs: 20,
      });
      const changes: StateChange[] = [];
      client.on('state', (s) => changes.push(s));
      client.connect();
      const error = (await client.ready().catch((e: unknown) => e)) as TetherClientError;
      expect(error).toBeInstanceOf(TetherClientError);
      expect(error).toMatchObject({
        code: 'AUTH_INVALID_TOKEN',
        category: 'connection',
        retryable: false,
        closeCode: 4001,
      });
      expect(error.recovery).toMatch(/new token/);
      expect(error.correlationId).toBeTruthy();
      await new Promise((r) => setTimeout(r, 1000)); // a storm would have opened dozens by now
      expect((await opened()) - before).toBe(1);
      expect(changes.map((c) => c.newState)).toEqual(['connecting', 'failed']);
      expect(changes[1]?.error).toBe(error);
    },
  );

  it('action() resolves with the worker’s reply, and rejects with its coded error', async () => {
    const token = await new SignJWT({ channels: ['*'], publish: ['*'], actions: ['echo', 'nobody.handles'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('actor')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_SECRET));
    const client = new TetherClient({ url: gw.url, WebSocket, token });
    const early = client.action('echo', { queued: 'before connect' }); // offline queue → sent on welcome
    client.connect();
    await expect(early).resolves.toEqual({ queued: 'before connect' });
    await expect(client.action('echo', [1, 2, 3])).resolves.toEqual([1, 2, 3]);
    await expect(client.action('nobody.handles')).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
    await expect(client.action('not.allowed')).rejects.toMatchObject({ code: 'ACTION_FORBIDDEN' });
    client.disconnect();
  });

  it('publish() resolves with the stored event ID, which the subscriber receives once', async () => {
    const client = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'pub' }) });
    const got: ChannelEvent[] = [];
    client.on('event', (e) => got.push(e));
    client.connect();
    await client.subscribe('chat:sdk').ready();
    const ack = await client.publish('chat:sdk', { text: 'hi' });
    await until(
      () => got.length === 1,
      5000,
      () => 'the event',
    );
    expect(got[0]).toMatchObject({ channel: 'chat:sdk', id: ack.id, data: { text: 'hi' } });
    await expect(client.publish('chat:sdk', 'x'.repeat(70_000))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(client.state).toBe('connected'); // refused locally, not by a 1009 close
    client.disconnect();
  });

  it.each(TRANSPORTS)(
    'a resumed session keeps its correlation ID: the SDK echoes it in the resume hello (%s)',
    async (transport: Transport) => {
      const token = await mintToken({ sub: 'corr' });
      const client = new TetherClient({ url: gw.url, WebSocket, transport, token });
      const notices: { resumed: boolean }[] = [];
      client.on('recovered', (r) => notices.push(r));
      client.connect();
      await client.ready();
      const first = client.correlationId;
      const session = client.sessionId;
      expect(first).toBeTruthy();
      for (const conn of gw.gateway.core.connections.values())
        if (conn.sessionId === session) conn.socket?.close(); // no close frame: the client sees 1006
      await until(
        () => notices.length > 0 && client.state === 'connected',
        10_000,
        () => `a resume; state ${client.state}`,
      );
      expect(notices).toEqual([expect.objectContaining({ resumed: true })]);
      expect(client.sessionId).toBe(session);
      expect(client.correlationId).toBe(first);
      expect(client.transport).toBe(transport);
      client.disconnect();
    },
  );

  it('diagnose() checks health, upgrade, auth, latency and clock skew', async () => {
    const client = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'diag' }) });
    const report = await client.diagnose();
    expect(report.checks.health).toMatchObject({ ok: true });
    expect(report.checks.upgrade).toMatchObject({ ok: true });
    expect(report.transport).toBe('websocket');
    expect(report.checks.sse).toBeUndefined();
    expect(report.checks.auth).toMatchObject({ ok: true, detail: 'authenticated as diag' });
    expect(report.latencySamplesMs).toHaveLength(5);
    expect(Math.abs(report.clockSkewMs ?? 99_999)).toBeLessThan(1000);
    expect(report).toMatchObject({ ok: true, suggestions: [] });

    const bad = new TetherClient({ url: gw.url, WebSocket, token: 'not-a-jwt' });
    const failed = await bad.diagnose();
    expect(failed.ok).toBe(false);
    expect(failed.checks.auth).toMatchObject({ ok: false, error: { code: 'AUTH_INVALID_TOKEN' } });
    expect(failed.checks.latency.ok).toBe(false);
    expect(failed.suggestions.join('\n')).toMatch(/token/);
  });
});

describe('SDK and admission control', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1', ADMISSION_TIMEOUT_MS: '1500' });
  });
  afterAll(() => gw?.stop());

  it.each(TRANSPORTS)(
    'waits in the admission queue (queued events), is admitted when a slot frees (%s)',
    async (transport: Transport) => {
      const first = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'first' }) });
      first.connect();
      await first.ready();
      const token = await mintToken({ sub: 'second' });
      const second = new TetherClient({ url: gw.url, WebSocket, transport, token });
      const queued: { position: number; estimatedWaitMs: number }[] = [];
      second.on('queued', (q) => queued.push(q));
      second.connect();
      await until(
        () => queued.length > 0,
        5000,
        () => 'a queued frame',
      );
      expect(queued[0]).toMatchObject({ position: 1 });
      expect(second.state).toBe('connecting');
      expect(second.detailedState).toEqual({ connecting: 'queued' });
      first.disconnect();
      await second.ready();
      second.disconnect();
    },
  );

  it('diagnose() from a client held in the admission queue reports its position', async () => {
    const holder = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'holder' }) });
    holder.connect();
    await holder.ready();
    const probe = new TetherClient({
      url: gw.url,
      WebSocket,
      token: await mintToken({ sub: 'probe' }),
      connectTimeoutMs: 1000, // gives up before the gateway's 1500 ms admission timeout
    });
    const report = await probe.diagnose();
    expect(report.queue).toMatchObject({ position: 1 });
    expect(report.checks.auth).toMatchObject({ ok: true });
    expect(report.checks.admission).toMatchObject({ ok: false });
    expect(report.checks.admission.detail).toMatch(/still in the admission queue .*position 1/);
    expect(report.suggestions.join('\n')).toMatch(/Admission: the gateway is at capacity/);
    holder.disconnect();
  });

  it.each(TRANSPORTS)(
    'an admission timeout (1013) is retried no sooner than the server’s retryAfterMs (%s)',
    async (transport: Transport) => {
      const holder = new TetherClient({ url: gw.url, WebSocket, token: await mintToken({ sub: 'holder' }) });
      holder.connect();
      await holder.ready();
      const waiter = new TetherClient({
        url: gw.url,
        WebSocket,
        transport,
        token: await mintToken({ sub: 'waiter' }),
        random: () => 0, // without the hint, the retry would be immediate
      });
      const change = new Promise<StateChange>((resolve) =>
        waiter.on('state', (s) => s.newState === 'reconnecting' && resolve(s)),
      );
      waiter.connect();
      const { error, retryInMs } = await change;
      expect(error).toMatchObject({ code: 'ADMISSION_TIMEOUT', retryable: true, closeCode: 1013 });
      expect(error?.retryAfterMs).toBeGreaterThan(0);
      expect(retryInMs).toBe(error?.retryAfterMs);
      waiter.disconnect();
      holder.disconnect();
    },
  );
});

describe('the tether/client package, as installed', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // What `npm install` runs (prepare): the test checks today's source, not a stale dist/.
    await run(process.execPath, ['--import', 'tsx', 'scripts/build-client.ts'], { cwd: ROOT });
    gw = await startTestGateway();
  }, 120_000);
  afterAll(() => gw?.stop());

  it('loads in plain Node (no tsx) — on Node 20, without a global WebSocket, loads ws itself — and connects, subscribes and publishes', async () => {
    const channel = `plain:${randomUUID()}`;
    const script = `
      const { TetherClient } = await import('tether/client');
      const { TETHER_URL: url, TETHER_TOKEN: token, CHANNEL: channel } = process.env;
      const client = new TetherClient({ url, token }); // no WebSocket option: Node 20 has no global one
      const received = new Promise((resolve) => client.on('event', resolve));
      client.connect();
      await client.ready();
      await client.subscribe(channel).ready();
      const ack = await client.publish(channel, { text: 'from plain node' });
      const event = await received;
      console.log(JSON.stringify({
        resolved: import.meta.resolve('tether/client'),
        globalWebSocket: typeof globalThis.WebSocket,
        state: client.state,
        ack,
        event,
      }));
      client.disconnect();
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        TETHER_URL: gw.url,
        TETHER_TOKEN: await mintToken({ sub: 'plain-node' }),
        CHANNEL: channel,
      },
      timeout: 30_000,
    });
    const out = JSON.parse(stdout) as {
      resolved: string;
      globalWebSocket: string;
      state: string;
      ack: { channel: string; id: string };
      event: ChannelEvent;
    };
    expect(out.resolved).toBe(`file://${ROOT}packages/client/dist/index.js`);
    // Node 20: none, so the socket came from the `ws` the SDK loaded; Node 22+ has one (the suite runs on 24 too).
    expect(out.globalWebSocket).toBe(
      Number(process.versions.node.split('.')[0]) < 22 ? 'undefined' : 'function',
    );
    expect(out.state).toBe('connected');
    expect(out.ack.channel).toBe(channel);
    expect(out.event).toMatchObject({ channel, id: out.ack.id, data: { text: 'from plain node' } });
  });
});
