/**
 * diagnose() against a scripted gateway on a real socket (a `ws` server plays
 * the gateway, so each case says exactly what the gateway did): a frame that is
 * not JSON is skipped, a probe held in the admission queue reports its position
 * instead of a connect timeout, and clock skew comes out of the pong's serverTime.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { TetherClient } from '../../packages/client/src/index.ts';
import type { ServerFrame } from '../../src/shared/frames.ts';

type Outgoing = ServerFrame | Record<string, unknown> | string;
type Script = (frame: { type: string; ts?: number }, send: (frame: Outgoing) => void) => void;

let server: Server | undefined;

/** An HTTP server answering /readyz, with a WebSocket endpoint that follows `script`. */
async function scriptedGateway(script: Script): Promise<{ url: string; httpUrl: string }> {
  server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    const send = (frame: Outgoing) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    ws.on('message', (data) => script(JSON.parse(String(data)) as { type: string }, send));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/ws`, httpUrl: `http://127.0.0.1:${port}` };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server?.closeAllConnections();
  server = undefined;
});

/** The fields of a welcome that diagnose() reads; a real gateway sends more (see client-runtime.test.ts). */
const welcome = { type: 'welcome', sessionId: 's', correlationId: 'k', userId: 'diag-user' };

describe('diagnose()', () => {
  it('skips a frame that is not JSON, and measures clock skew from the pong', async () => {
    const AHEAD_MS = 60_000;
    const gw = await scriptedGateway((frame, send) => {
      if (frame.type === 'hello') {
        send('this is not json {');
        send(welcome);
      }
      if (frame.type === 'ping') send({ type: 'pong', ts: frame.ts, serverTime: Date.now() + AHEAD_MS });
    });
    const client = new TetherClient({ ...gw, WebSocket, token: 't' });
    const report = await client.diagnose();
    expect(report.checks.auth).toMatchObject({ ok: true, detail: 'authenticated as diag-user' });
    expect(report.checks.admission).toMatchObject({ ok: true, detail: 'admitted at once' });
    expect(report.latencySamplesMs).toHaveLength(5);
    expect(Math.abs((report.clockSkewMs ?? 0) - AHEAD_MS)).toBeLessThan(1000);
    expect(report.checks.clockSkew).toMatchObject({ ok: false });
    expect(report.checks.clockSkew.detail).toMatch(/ahead of this one/);
    expect(report.suggestions.join('\n')).toMatch(/NTP/);
  });

  it('held in the admission queue: reports the position, not a connect timeout', async () => {
    const gw = await scriptedGateway((frame, send) => {
      if (frame.type !== 'hello') return;
      send({ type: 'queued', position: 4, estimatedWaitMs: 9000 });
      send({ type: 'queued', position: 3, estimatedWaitMs: 7000 });
    });
    const client = new TetherClient({ ...gw, WebSocket, token: 't', connectTimeoutMs: 500 });
    const report = await client.diagnose();
    expect(report.ok).toBe(false);
    expect(report.queue).toEqual({ position: 3, estimatedWaitMs: 7000 });
    expect(report.checks.auth).toMatchObject({ ok: true, detail: 'token accepted' });
    expect(report.checks.admission.ok).toBe(false);
    expect(report.checks.admission.detail).toMatch(
      /still in the admission queue .*position 3, about 7 s more/,
    );
    expect(JSON.stringify(report)).not.toContain('CONNECT_TIMEOUT');
    expect(report.suggestions.join('\n')).toMatch(/at capacity \(position 3/);
  });

  it('nothing listening: the suggestions do not say the checks ran over a fallback that did not open', async () => {
    // A free port, closed again: afterEach closes `server` (a second close just reports it).
    server = createServer();
    const closed = server;
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const client = new TetherClient({
      url: `ws://127.0.0.1:${port}/ws`,
      WebSocket,
      token: 't',
      upgradeTimeoutMs: 500,
      connectTimeoutMs: 500,
    });
    const report = await client.diagnose();
    expect(report.transport).toBeUndefined();
    expect(report.checks.sse).toMatchObject({ ok: false });
    expect(report.checks.auth.detail).toBe('skipped: no connection opened');
    const said = report.suggestions.join('\n');
    expect(said).toMatch(/WebSocket upgrade failed/);
    expect(said).toMatch(/SSE stream .* did not open/);
    expect(said).not.toMatch(/ran over/);
  });

  it('no answer to hello at all is a connect timeout, reported under auth', async () => {
    const gw = await scriptedGateway(() => {});
    const client = new TetherClient({ ...gw, WebSocket, token: 't', connectTimeoutMs: 300 });
    const report = await client.diagnose();
    expect(report.checks.auth).toMatchObject({ ok: false, error: { code: 'CONNECT_TIMEOUT' } });
    expect(report.checks.admission.detail).toBe('skipped: not authenticated');
    expect(report.queue).toBeUndefined();
  });
});
