/**
 * Upgrades on every edge: the handler reads the request's headers and hands
 * userData to the socket (also after an await), refuses with an HTTP answer, or
 * learns the client left before it decided; the socket knows its peer's address.
 */

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpRemoteAddress, remoteAddress, reply, type Socket, trackAbort } from '../../src/edge/uws.ts';
import { connect, type Served, serve, testedEdges, until } from './edge-harness.ts';

interface Data {
  who: string;
  peer: string;
}

describe.each(testedEdges())('upgrades on the %s edge', (impl) => {
  let served: Served | undefined;
  afterEach(() => served?.stop());

  it('copies headers into userData, upgrades after an await, refuses with an answer', async () => {
    const opened: string[] = [];
    served = await serve(impl, (app) =>
      app.ws<Data>('/ws', {
        upgrade: async (res, req, context) => {
          // Headers MUST be copied before any await: req does not outlive the call on uWS.
          const [who, key, protocol, extensions] = [
            'x-who',
            'sec-websocket-key',
            'sec-websocket-protocol',
            'sec-websocket-extensions',
          ].map((h) => req.getHeader(h)) as [string, string, string, string];
          trackAbort(res);
          const peer = httpRemoteAddress(res);
          await new Promise((r) => setTimeout(r, 20));
          if (res.aborted) return;
          if (who === 'mallory') return reply(res, 403, '{"code":"FORBIDDEN"}');
          res.cork(() => res.upgrade<Data>({ who, peer }, key, protocol, extensions, context));
        },
        open: (ws: Socket<Data>) =>
          opened.push(`${ws.getUserData().who} ${ws.getUserData().peer} ${remoteAddress(ws)}`),
      }),
    );
    const alice = await connect(`${served.base}/ws`, { headers: { 'x-who': 'alice' } });
    expect(opened).toEqual(['alice 127.0.0.1 127.0.0.1']);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${served?.base}/ws`, { headers: { 'x-who': 'mallory' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(refused).toBe(403);
    alice.close();
  });

  it('tells the upgrade handler when the client left before it answered', async () => {
    let aborted = false;
    let opened = 0;
    served = await serve(impl, (app) =>
      app.ws('/ws', {
        upgrade: (res) => {
          res.onAborted(() => {
            aborted = true;
          });
          // never answers: the client gives up first
        },
        open: () => opened++,
      }),
    );
    const ws = new WebSocket(`${served.base}/ws`);
    ws.on('error', () => {});
    await new Promise((r) => setTimeout(r, 50));
    ws.terminate();
    await until(() => aborted);
    expect(opened).toBe(0);
  });

  it('answers an upgrade on a path without a WebSocket route with the HTTP routes', async () => {
    served = await serve(impl, (app) => {
      app.ws('/ws', {});
      app.any('/*', (res) => reply(res, 404, '{"code":"NOT_FOUND"}'));
    });
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${served?.base}/elsewhere`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(status).toBe(404);
  });

  it('selects one subprotocol, the first offered, when the handler passes the header on', async () => {
    // As the gateway's upgrade does (src/edge/ws-endpoint.ts): the header, as it came. A
    // handshake answer naming several (`a, b`) is one no client accepts (RFC 6455 §4.1):
    // a browser offering two subprotocols could not connect at all.
    served = await serve(impl, (app) =>
      app.ws('/ws', {
        upgrade: (res, req, context) =>
          res.upgrade(
            {},
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          ),
      }),
    );
    for (const [offered, chosen] of [
      [['chat.v2', 'chat.v1'], 'chat.v2'],
      [['only'], 'only'],
      [[], ''],
    ] as const) {
      const opened = await new Promise<string>((resolve, reject) => {
        const client = new WebSocket(`${served?.base}/ws`, [...offered]);
        client.on('open', () => {
          resolve(client.protocol);
          client.close();
        });
        client.on('error', reject);
      });
      expect(opened).toBe(chosen);
    }
  });

  it('gives a WebSocket peer’s address in canonical form on a dual-stack listener', async () => {
    const peers: string[] = [];
    served = await serve(impl, (app) => app.ws('/ws', { open: (ws) => peers.push(remoteAddress(ws)) }), '::');
    const ws = await connect(`${served.base}/ws`);
    expect(peers).toEqual(['127.0.0.1']);
    ws.close();
  });
});
