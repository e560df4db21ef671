/**
 * HTTP methods as RFC 9110 has them, on both edges (src/edge/uws.ts `tagResponses`):
 * every GET route answers HEAD (§9.3.2) — the status and headers GET would give, a
 * content-length of its body, no body — so `curl -I` and load balancers that probe with
 * HEAD see a healthy node as healthy, and a HEAD of the SSE route opens no stream; a
 * method a path is not served with is 405 with `Allow` (§15.5.6), not 404.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_ADMIN_KEY, TEST_API_KEY, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a raw node:http client (fetch hides what a HEAD reply carried). */
function call(method: string, path: string, key?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.http}${path}`,
      { method, headers: key ? { authorization: `Bearer ${key}` } : {}, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('a method no route takes', () => {
  it.each([
    ['GET', '/publish', 'POST'],
    ['PUT', '/livez', 'GET, HEAD'],
    ['POST', '/channels/room:x/history', 'GET, HEAD'],
    ['DELETE', '/users/someone/block', 'POST'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const answer = await call(method, path, TEST_API_KEY);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe(allow);
    expect(JSON.parse(answer.body)).toMatchObject({
      error: 'METHOD_NOT_ALLOWED',
      message: expect.any(String),
    });
  });

  it('on a path no route serves is 404, saying so', async () => {
    const answer = await call('GET', '/no/such/route');
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({
      error: 'NOT_FOUND',
      message: 'no route GET /no/such/route',
    });
  });

  it.each([
    ['GET', '/channels//history', TEST_API_KEY],
    ['GET', '/channels//presence', TEST_API_KEY],
    ['POST', '/users//block', TEST_ADMIN_KEY],
    ['GET', '/users//sessions', TEST_ADMIN_KEY],
  ])(
    '%s %s, a parameter left empty, is 404 on both edges: no route, not a method refused',
    async (method, path, key) => {
      const answer = await call(method, path, key);
      expect(answer.status).toBe(404);
      expect(answer.headers.allow).toBeUndefined();
      expect(JSON.parse(answer.body)).toMatchObject({
        error: 'NOT_FOUND',
        message: `no route ${method} ${path}`,
      });
    },
  );
});

describe('the WebSocket endpoint asked without an upgrade', () => {
  // A proxy that strips Upgrade (what the SSE fallback is for) makes such a request: the answer
  // must say what is missing, not that the gateway has no such route.
  it.each(['GET', 'HEAD'])('%s /ws is 426 Upgrade Required, naming the upgrade it needs', async (method) => {
    const answer = await call(method, '/ws');
    expect(answer.status).toBe(426);
    expect(answer.headers.upgrade).toBe('websocket');
    if (method === 'GET')
      expect(JSON.parse(answer.body)).toMatchObject({
        error: 'UPGRADE_REQUIRED',
        message: expect.stringMatching(/WebSocket upgrade/),
      });
  });

  it('GET /ws with a Sec-WebSocket-Key but no Upgrade header is 426 too, on both edges', async () => {
    // uWS 20.30 would upgrade it on the key alone, where the portable edge wants the header.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect(Number(new URL(gw.http).port), '127.0.0.1', () =>
        socket.write(
          'GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      socket.on('data', (chunk) => {
        text += chunk;
        if (text.includes('}')) socket.end();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(text));
      setTimeout(() => socket.destroy(), 3000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 426 /);
    expect(answer).toMatch(/^upgrade: websocket\r$/im);
    expect(answer).toContain('"error":"UPGRADE_REQUIRED"');
  });

  it('another method on /ws is 405 with Allow: GET', async () => {
    const answer = await call('POST', '/ws');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET');
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'METHOD_NOT_ALLOWED' });
  });
});

describe('HEAD', () => {
  it.each([
    ['/livez', undefined],
    ['/readyz', undefined],
    ['/ws/stats', undefined],
    ['/metrics', TEST_ADMIN_KEY],
    ['/channels/room:head/history', TEST_API_KEY],
    ['/', undefined],
  ])('%s answers as GET does, without the body', async (path, key) => {
    const got = await call('GET', path, key);
    const head = await call('HEAD', path, key);
    expect(got.status).toBe(200);
    expect(head).toMatchObject({ status: got.status, body: '' });
    expect(head.headers['content-type']).toBe(got.headers['content-type']);
    if (path === '/livez') expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(got.body));
    else expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });

  it('is refused as GET is: no key, an unknown path', async () => {
    expect(await call('HEAD', '/channels/room:head/history')).toMatchObject({ status: 401, body: '' });
    expect(await call('HEAD', '/no/such/route')).toMatchObject({ status: 404, body: '' });
  });

  it('of the SSE route opens no stream', async () => {
    const head = await call('HEAD', '/sse');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    const stats = JSON.parse((await call('GET', '/ws/stats')).body) as { connections?: number };
    expect(stats.connections ?? 0).toBe(0);
  });

  it('leaves the next GET on the same connection its body', async () => {
    const head = await call('HEAD', '/livez');
    const got = await call('GET', '/livez');
    expect(head.body).toBe('');
    expect(JSON.parse(got.body)).toEqual({ status: 'ok' });
  });
});
