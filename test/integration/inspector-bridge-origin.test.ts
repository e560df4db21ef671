/**
 * The inspector bridge listens on 127.0.0.1 only, but a browser lets any page it shows dial
 * ws://127.0.0.1: the bridge's WebSocket takes its own page (same origin, a loopback host)
 * and tools that send no Origin, and refuses other pages' — they would read every user,
 * session and channel the inspection shows — and a Host that is no loopback (DNS rebinding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type InspectorBridge, startInspectorBridge } from '../../src/admin/inspector-bridge.ts';

let bridge: InspectorBridge;
beforeAll(async () => {
  bridge = await startInspectorBridge({ port: 0 });
});
afterAll(() => bridge?.stop());

/** The first event a socket with these headers reads, or the HTTP status it was refused with. */
function dial(headers: Record<string, string>): Promise<{ event?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/`, { headers });
    ws.on('open', () => bridge.broadcast('{"type":"probe"}'));
    ws.on('message', (data) => {
      ws.close();
      resolve({ event: data.toString() });
    });
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('error', reject);
  });
}

describe('inspector bridge origin check', () => {
  it("takes its own page's socket and a tool's (no Origin)", async () => {
    const own = `http://127.0.0.1:${bridge.port}`;
    expect((await dial({ origin: own })).event).toContain('probe');
    expect(
      (await dial({ origin: `http://localhost:${bridge.port}`, host: `localhost:${bridge.port}` })).event,
    ).toContain('probe');
    expect((await dial({})).event).toContain('probe');
  });

  it("refuses another page's socket, and a Host that is no loopback", async () => {
    expect(await dial({ origin: 'https://evil.example' })).toEqual({ status: 403 });
    expect(await dial({ origin: `http://localhost:${bridge.port}` })).toEqual({ status: 403 });
    const rebound = `evil.example:${bridge.port}`;
    expect(await dial({ origin: `http://${rebound}`, host: rebound })).toEqual({ status: 403 });
  });
});
