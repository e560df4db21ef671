/**
 * Heartbeats on every edge, with the shortest idle timeout (8 s: ping after 4 s of
 * silence, cut 4 s later — heartbeatTiming): a peer that never answers is pinged,
 * then dropped (1006 on both sides) although the server keeps sending to it; a
 * peer that answers pings stays. The edges run side by side to keep the wait short. A
 * peer's pings are answered (a pong each, payload echoed) before the behavior hears of them.
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

    it('a ping is answered with a pong echoing it, and then the ping handler runs; the pong handler hears unsolicited pongs', async ({
      expect,
    }) => {
      const heard: string[] = [];
      const server = await serve(impl, (app) =>
        app.ws('/*', {
          ping: (ws, message) => {
            heard.push(`ping ${Buffer.from(message).toString()}`);
            if (Buffer.from(message).toString() === 'bye') ws.end(1008, 'enough');
          },
          pong: (_ws, message) => heard.push(`pong ${Buffer.from(message).toString()}`),
        }),
      );
      served.push(server);
      const client = await connect(`${server.base}/`);
      const pongs: string[] = [];
      client.on('pong', (data) => pongs.push(data.toString()));
      // More pings at once than `ws` answers on its own (60 pongs unwritten): uWS answers them all.
      const many = Array.from({ length: 100 }, (_, i) => `p${i}`);
      for (const text of many) client.ping(text);
      client.pong('unasked');
      await expect.poll(() => pongs.length).toBe(many.length);
      expect(pongs).toEqual(many);
      await expect.poll(() => heard.length).toBe(many.length + 1);
      expect(heard).toEqual([...many.map((text) => `ping ${text}`), 'pong unasked']);
      // A handler may close the socket it was called for.
      const closed = closedOf(client);
      client.ping('bye');
      expect((await closed).code).toBe(1008);
    });
  });
});
