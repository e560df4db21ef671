/**
 * HTTP on every edge, through the helpers the gateway uses (src/edge/uws.ts):
 * routes by specificity with parameters and queries, bodies read as they stream,
 * a request aborted mid-body, a path no route takes, and peer addresses in their
 * canonical form also on a dual-stack (`::`) listener.
 */
import { request, STATUS_CODES } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseEdge } from '../../src/edge/select-edge.ts';
import {
  type App,
  BodyTooLargeError,
  httpRemoteAddress,
  readBody,
  reply,
  replyJson,
  trackAbort,
} from '../../src/edge/uws.ts';
import { type Served, serve, testedEdges, until } from './edge-harness.ts';

function mountRoutes(app: App, aborts: string[]): void {
  app.get('/things/:id', (res, req) =>
    replyJson(res, 200, {
      query: req.getQuery(), // first: uWS decodes the query in place for getQuery(key)
      id: req.getParameter(0),
      q: req.getQuery('q'),
      method: req.getMethod(),
      url: req.getUrl(),
      header: req.getHeader('x-test'),
      missing: req.getHeader('x-missing'),
    }),
  );
  app.get('/things/special', (res) => reply(res, 200, 'static beats parameter', 'text/plain'));
  app.get('/address', (res) => reply(res, 200, httpRemoteAddress(res), 'text/plain'));
  app.post('/echo', (res) => {
    readBody(trackAbort(res), 64 * 1024).then(
      (body) =>
        reply(res, 200, `${body.length}:${body.toString().slice(-3)}`, 'text/plain', { 'x-seen': 'yes' }),
      (error) => {
        if (error instanceof BodyTooLargeError) reply(res, 413, '{"code":"TOO_LARGE"}');
        else aborts.push(String(error));
      },
    );
  });
  app.post('/refuse', (res) => {
    res.onData(() => {}); // as the gateway's 401s: answered at once, the body consumed unread
    reply(res, 401, 'no', 'text/plain');
  });
  app.any('/*', (res, req) => replyJson(res, 404, { fallback: req.getMethod() }));
}

/** One request by hand, so a test can stream its body or abandon it. */
function send(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    chunks?: string[];
    abandonAfter?: number;
  } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    const chunks = options.chunks ?? [];
    const writeNext = (i: number) => {
      if (options.abandonAfter === i) {
        req.destroy();
        return;
      }
      if (i === chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i]);
      setTimeout(() => writeNext(i + 1), 20);
    };
    writeNext(0);
  });
}

/** Writes `head` on a raw socket and says nothing more; resolves with when the server closed it. */
function cutAfter(port: number, head: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(head));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Date.now()));
    socket.resume();
  });
}

/**
 * Writes `head`, then a byte of body every `everyMs` until the server closes the socket;
 * resolves with when it did.
 */
function trickleAfter(port: number, head: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let drip: NodeJS.Timeout | undefined;
    const socket = connectTcp(port, '127.0.0.1', () => {
      socket.write(head);
      drip = setInterval(() => socket.write('x'), everyMs);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      resolve(Date.now());
    });
    socket.resume();
    setTimeout(() => socket.destroy(), 15_000); // never cut: the test's bound says so
  });
}

/** uWS 20.30 (trufflesuite's build) cuts an unrouted request; 20.5x answers 404. */
const uwsCuts = () => chooseEdge('uws').edge.info.version.includes('@20.30.');

/** Body framing a proxy in front and the edge may read apart (RFC 9112 §6.3), around `inner`. */
const AMBIGUOUS_FRAMINGS: [string, (inner: string) => string][] = [
  ['Content-Length twice, the first 0', (inner) => `Content-Length: 0\r\nContent-Length: ${inner.length}`],
  ['Content-Length twice, the last 0', (inner) => `Content-Length: ${inner.length}\r\nContent-Length: 0`],
  ['Transfer-Encoding twice', () => 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity'],
];

/** The request line and first headers of the request the ambiguous framing comes with. */
const OUTER_REQUESTS: Record<string, string> = {
  'a request': 'GET /outer HTTP/1.1\r\nHost: x\r\n',
  'a WebSocket upgrade its handler refuses':
    'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
};

describe.each(testedEdges())('HTTP on the %s edge', (impl) => {
  let served: Served | undefined;
  const aborts: string[] = [];
  afterEach(() => served?.stop());
  const http = () => `http://127.0.0.1:${served?.port}`;

  it('routes by specificity and passes parameters, queries and headers', async () => {
    served = await serve(impl, (app) => mountRoutes(app, aborts));
    const one = await send(`${http()}/things/42?q=a%20b&r`, { headers: { 'x-test': 'yes' } });
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body)).toEqual({
      id: '42',
      q: 'a b',
      query: 'q=a%20b&r',
      method: 'get',
      url: '/things/42',
      header: 'yes',
      missing: '',
    });
    expect((await send(`${http()}/things/special`)).body).toBe('static beats parameter');
    const fallback = await send(`${http()}/nothing/here`, { method: 'DELETE' });
    expect([fallback.status, JSON.parse(fallback.body)]).toEqual([404, { fallback: 'delete' }]);
  });

  it('reads a streamed body, refuses one over the limit, and notices an abandoned one', async () => {
    served = await serve(impl, (app) => mountRoutes(app, aborts));
    const streamed = await send(`${http()}/echo`, {
      method: 'POST',
      chunks: ['a'.repeat(1000), 'b'.repeat(999), 'xyz'],
    });
    expect([streamed.status, streamed.body, streamed.headers['x-seen']]).toEqual([200, '2002:xyz', 'yes']);
    const tooBig = await send(`${http()}/echo`, { method: 'POST', chunks: ['a'.repeat(70 * 1024)] });
    expect(tooBig.status).toBe(413);
    aborts.length = 0;
    await send(`${http()}/echo`, {
      method: 'POST',
      headers: { 'content-length': '5000' },
      chunks: ['a'.repeat(100), 'b'],
      abandonAfter: 1,
    }).catch(() => undefined);
    await until(() => aborts.length === 1);
    expect(aborts).toEqual(['Error: request aborted']);
  });

  it('cuts a request that stops coming halfway, headers or body, or whose body trickles, after its idle time; its handler hears onAborted', async () => {
    served = await serve(impl, (app) => mountRoutes(app, aborts));
    aborts.length = 0;
    const startedAt = Date.now();
    const [headersCut, bodyCut, trickleCut] = await Promise.all([
      cutAfter(served.port, 'POST /echo HTTP/1.1\r\nHost: x\r\n'),
      cutAfter(served.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc'),
      // A byte every half second never leaves the body idle for 10 s, but is far below uWS's
      // 16 KiB/s: uWS restarts its timeout only per 160 KiB received, so a slow body (an
      // unauthenticated POST /sse/frames, say) cannot hold its connection for good.
      trickleAfter(served.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n', 500),
    ]);
    // uWS's 10 s, with a second of room either way for its timer and Node's check interval.
    for (const cutAt of [headersCut, bodyCut, trickleCut]) expect(cutAt - startedAt).toBeGreaterThan(8_000);
    for (const cutAt of [headersCut, bodyCut, trickleCut]) expect(cutAt - startedAt).toBeLessThan(13_000);
    await until(() => aborts.length === 2);
  }, 30_000);

  it('closes the connection when its answer came before the end of the body, and reads no more of it', async () => {
    served = await serve(impl, (app) => mountRoutes(app, aborts));
    const port = served.port;
    // Answered (401) after half the body: the answer says `connection: close`, and the
    // connection ends with it, not after the edge's idle time (uWS 10 s, node:http's 5 s).
    const half = await new Promise<{ answer: string; answeredAt: number; closedAt: number }>((resolve) => {
      let answer = '';
      let answeredAt = 0;
      const socket = connectTcp(port, '127.0.0.1', () =>
        socket.write('POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc'),
      );
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        answer += chunk;
        answeredAt ||= Date.now();
      });
      socket.on('close', () => resolve({ answer, answeredAt, closedAt: Date.now() }));
      setTimeout(() => socket.destroy(), 8_000); // still open: what is measured fails
    });
    expect(half.answer).toMatch(/^HTTP\/1\.1 401 .*\r\nconnection: close\r\n/is);
    expect(half.closedAt - half.answeredAt).toBeLessThan(2_000);

    // A client that goes on streaming a body it declared as 50 MB after the answer: the edge
    // stops reading (uWS cuts the connection, node:http ends it), where it used to read it all.
    const declared = 50_000_000;
    const streamed = await new Promise<{ sent: number; closed: boolean }>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1');
      const chunk = Buffer.alloc(64 * 1024, 97);
      let sent = 0;
      let closed = false;
      socket.on('error', () => {});
      socket.on('close', () => {
        closed = true;
        resolve({ sent, closed });
      });
      const deadline = Date.now() + 5_000;
      const pump = () => {
        while (!closed && sent < declared && Date.now() < deadline) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        setTimeout(() => resolve({ sent, closed }), 200);
      };
      socket.once('connect', () => {
        socket.write(`POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
        pump();
      });
      setTimeout(() => resolve({ sent, closed }), 8_000);
    });
    expect(streamed.closed).toBe(true);
    expect(streamed.sent).toBeLessThan(declared);
  }, 20_000);

  it('keeps the connection of an answer given after the whole body', async () => {
    served = await serve(impl, (app) => mountRoutes(app, aborts));
    const answers = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connectTcp(served?.port ?? 0, '127.0.0.1', () => {
        const post = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc';
        socket.write(post + post); // two requests on one connection
      });
      socket.on('data', (chunk) => {
        text += chunk;
        if ((text.match(/3:abc/g) ?? []).length === 2) resolve(text);
      });
      socket.on('close', () => resolve(text));
      setTimeout(() => socket.destroy(), 5_000);
    });
    expect(answers.match(/3:abc/g)).toHaveLength(2);
    expect(answers).not.toMatch(/connection: close/i);
  });

  it('runs no handler for a request no route takes: a 404, or (uWS 20.30) a cut connection', async () => {
    let handled = 0;
    served = await serve(impl, (app) =>
      app.get('/only', (res) => {
        handled++;
        reply(res, 200, 'ok', 'text/plain');
      }),
    );
    expect((await send(`${http()}/only`)).body).toBe('ok');
    const answer = await send(`${http()}/only`, { method: 'POST' }).then(
      (r) => r.status,
      () => 'cut',
    );
    expect(answer).toBe(impl === 'uws' && uwsCuts() ? 'cut' : 404);
    expect(handled).toBe(1);
  });

  it.each(
    AMBIGUOUS_FRAMINGS.flatMap(([framing, header]) =>
      Object.entries(OUTER_REQUESTS).map(([outer, head]) => [outer, framing, head, header] as const),
    ),
  )(
    'runs no handler for %s whose framing is ambiguous (%s), nor for what follows it',
    async (_o, _f, outerHead, framing) => {
      // A proxy in front that reads the other header than the edge takes the bytes after the
      // first request for its body: they must not reach a route as a request of their own. An
      // upgrade its handler refuses is answered over HTTP too, and the connection goes on.
      const ran: string[] = [];
      served = await serve(impl, (app) => {
        app.get('/outer', (res) => {
          ran.push('outer');
          reply(res, 200, 'outer', 'text/plain');
        });
        app.ws('/ws', {
          upgrade: (res) => {
            ran.push('outer');
            reply(res, 403, 'outer', 'text/plain'); // as an origin refusal (src/edge/ws-endpoint.ts)
          },
        });
        app.post('/smuggled', (res) => {
          ran.push('smuggled');
          res.onData(() => {});
          reply(res, 200, 'smuggled', 'text/plain');
        });
      });
      const inner = 'POST /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
      const head = `${outerHead}${framing(inner)}\r\n\r\n`;
      const body = framing(inner).startsWith('Transfer') ? `0\r\n\r\n${inner}` : inner;
      const answers = await new Promise<string>((resolve) => {
        let text = '';
        const socket = connectTcp(served?.port ?? 0, '127.0.0.1', () => socket.write(head + body));
        socket.on('data', (chunk) => {
          text += chunk;
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve(text));
        setTimeout(() => socket.destroy(), 2_000);
      });
      expect(ran).toEqual([]);
      expect(answers).not.toMatch(/smuggled|outer/);
      // The portable edge's parser answers 400 itself; uWS is cut, as for its other framing errors.
      if (answers !== '') expect(answers).toMatch(/^HTTP\/1\.1 400 /);
    },
  );

  it.each([405, 409, 413, 426])(
    'answers %i with its reason phrase, as RFC 9112 §4 spells a status line',
    async (status) => {
      // `reply` names the status; a code it had no text for went out as `HTTP/1.1 405`, no space
      // after the code, on uWS (the portable edge took Node's text).
      served = await serve(impl, (app) => app.get('/status', (res) => reply(res, status, '', 'text/plain')));
      const head = await new Promise<string>((resolve) => {
        let text = '';
        const socket = connectTcp(served?.port ?? 0, '127.0.0.1', () =>
          socket.write('GET /status HTTP/1.1\r\nHost: x\r\n\r\n'),
        );
        socket.on('data', (chunk) => {
          text += chunk;
          if (!text.includes('\r\n')) return;
          socket.destroy();
          resolve(text);
        });
      });
      expect(head.slice(0, head.indexOf('\r\n'))).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    },
  );

  it.each(['127.0.0.1', '::'])('gives the peer address in canonical form on %s', async (host) => {
    served = await serve(impl, (app) => mountRoutes(app, aborts), host);
    expect((await send(`${http()}/address`)).body).toBe('127.0.0.1');
  });
});
