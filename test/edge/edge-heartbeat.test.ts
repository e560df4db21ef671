/**
 * Heartbeats on every edge, with the shortest idle timeout (8 s: ping after 4 s of
 * silence, cut 4 s later — heartbeatTiming): a peer that never answers is pinged,
 * then dropped (1006 on both sides) although the server keeps sending to it; a
 * peer that answers pings stays. The edges run side by side to keep the wait short.
 */

import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { heartbeatTiming, type Socket } from '../../src/edge/uws.ts';
import { closedOf, connect, type Served, serve, testedEdges } from './edge-harness.ts';

const IDLE_S = 8;
const { pingAfterMs } = heartbeatTiming(IDLE_S);
/** uWS acts on a 4 s tick; the portable edge on a 0.5 s walk. */
const SLACK_MS = 1500;

describe.concurrent('heartbeats', () => {
  const served: Served[] = [];
  afterAll(() => {
    for (const s of served) s.stop();
  });

  describe.each(testedEdges())('on the %s edge', (impl) => {
    it('a silent peer is pinged, then dropped; one that answers stays', { timeout: 20_000 }, async () => {
      const closes: number[] = [];
      const server = await serve(impl, (app) =>
        app.ws('/*', {
          idleTimeout: IDLE_S,
          sendPingsAutomatically: true,
          open: (ws: Socket<{ timer?: NodeJS.Timeout }>) => {
            // Sends are not signs of life: only what the peer sends counts.
            ws.getUserData().timer = setInterval(() => ws.send('tick'), 1000);
          },
          close: (ws: Socket<{ timer?: NodeJS.Timeout }>, code) => {
            clearInterval(ws.getUserData().timer);
            closes.push(code);
          },
        }),
      );
      served.push(server);
      const started = Date.now();
      const silent = await connect(`${server.base}/`, { autoPong: false });
      const lively = await connect(`${server.base}/`);
      let pingedAt = 0;
      silent.once('ping', () => {
        pingedAt = Date.now() - started;
      });
      const silentClosed = closedOf(silent);
      expect((await silentClosed).code).toBe(1006);
      const droppedAt = Date.now() - started;
      expect(pingedAt).toBeGreaterThan(pingAfterMs - SLACK_MS);
      expect(pingedAt).toBeLessThan(pingAfterMs + SLACK_MS);
      expect(droppedAt).toBeGreaterThan(IDLE_S * 1000 - SLACK_MS);
      expect(droppedAt).toBeLessThan(IDLE_S * 1000 + SLACK_MS);
      expect(closes).toEqual([1006]);
      await new Promise((r) => setTimeout(r, 2 * SLACK_MS));
      expect(lively.readyState).toBe(WebSocket.OPEN);
      lively.close();
    });
  });
});
