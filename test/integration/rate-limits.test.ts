/**
 * Connection-level rate limits (issue 3, "Tests"): each one refuses with its own
 * code (per IP and per user apart), close code and retryAfterMs, holds across two gateways sharing Redis, and
 * lets the client in again once retryAfterMs has passed or a slot frees. The attempt
 * window slides; hints are jittered, never shorter than the real wait. Redis errors
 * on a limit fall back to a per-process limiter. X-Forwarded-For counts only from a
 * trusted proxy. The connection limits, the message rate and the failed-hello budget hold
 * over both transports (WebSocket and the SSE fallback, issue 17); how a window slides, a
 * slot's lease and Redis fallbacks are the limiter's own, tested once.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { LimitsConfig } from '../../src/config/config.ts';
import { FLOOD_REFUSALS } from '../../src/core/message-rate.ts';
import { RateLimits } from '../../src/limits/rate-limits.ts';
import { startRedisServer } from '../../src/redis/embedded-redis.ts';
import { AT_LEAST_JITTER } from '../../src/shared/backoff.ts';
import type { ErrorFrame } from '../../src/shared/frames.ts';
import { eventually, sleep } from '../support/events.ts';
import {
  mintToken,
  publishHttp,
  startTestGateway,
  TEST_ADMIN_KEY,
  type TestGateway,
} from '../support/gateway.ts';
import {
  type GatewayProcess,
  PROCESS_TEST_TIMEOUT_MS,
  processEnv,
  spawnGateway,
} from '../support/gateway-process.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { connectTestRedis } from '../support/test-redis.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const loggedGateways: LoggedGateway[] = [];
const processes: GatewayProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all([...gateways.splice(0), ...loggedGateways.splice(0)].map((g) => g.stop()));
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

/** Two gateways of one deployment: same Redis, same REDIS_PREFIX, same limits. */
async function pair(limits: Record<string, string>): Promise<[TestGateway, TestGateway]> {
  const a = await startTestGateway({ NODE_ID: 'gw-a', ...limits });
  gateways.push(a);
  const b = await startTestGateway({ NODE_ID: 'gw-b', REDIS_PREFIX: a.prefix, ...limits });
  gateways.push(b);
  return [a, b];
}

type Outcome =
  | { client: TestClient; welcomed: true }
  | { client: TestClient; welcomed: false; error: ErrorFrame; closeCode: number };

/** Connect, say hello, and report what the user sees: a welcome, or an error and a close. */
async function attempt(url: string, sub: string, headers: Record<string, string> = {}): Promise<Outcome> {
  const client = await TestClient.connect(url, headers);
  clients.push(client);
  client.send({ type: 'hello', token: await mintToken({ sub }) });
  const first = await client.next((f) => f.type === 'welcome' || f.type === 'error');
  if (first.type === 'welcome') return { client, welcomed: true };
  return { client, welcomed: false, error: first as ErrorFrame, closeCode: (await client.waitClosed()).code };
}

const WRONG_SECRET = 'a-wrong-secret-of-at-least-32-characters';

/** One hello with a badly signed token per URL, all at once: the code and close code each gets. */
async function badHellos(urls: string[]): Promise<{ code: string; closeCode: number }[]> {
  const token = await mintToken({ sub: 'mallory' }, WRONG_SECRET);
  const sockets = await Promise.all(urls.map((url) => TestClient.connect(url)));
  clients.push(...sockets);
  for (const client of sockets) client.send({ type: 'hello', token });
  return Promise.all(
    sockets.map(async (client) => {
      const error = (await client.next((f) => f.type === 'error', 10_000)) as ErrorFrame;
      return { code: error.code, closeCode: (await client.waitClosed(10_000)).code };
    }),
  );
}

function refused(outcome: Outcome, code: string, closeCode: number): ErrorFrame {
  expect(outcome.welcomed, `expected ${code}`).toBe(false);
  if (outcome.welcomed) throw new Error('unreachable');
  expect(outcome.error).toMatchObject({ code, retryable: true });
  expect(outcome.error.retryAfterMs).toBeGreaterThan(0);
  expect(outcome.closeCode).toBe(closeCode);
  return outcome.error;
}

/** A request through a proxy at 127.0.0.1 for the client at `ip`. */
const HEADERS = (ip: string) => ({ 'x-forwarded-for': `${ip}, 127.0.0.1` });

/** Wait until `gw` has processed the close of every socket but `open`. */
const settledTo = (gw: TestGateway, open: number) =>
  eventually(
    () => gw.gateway.core.connections.size === open,
    `${open} open sockets on ${gw.gateway.core.config.nodeId}`,
  );

describe.each(TRANSPORTS)('connection attempts per window, over %s', (transport: Transport) => {
  it('RATE_CONNECT_PER_IP: the attempt past the limit, on either gateway, gets CONNECT_RATE_LIMITED/4029, then gets in after retryAfterMs', async () => {
    const [a, b] = await pair({ RATE_CONNECT_PER_IP: '4', RATE_WINDOW_S: '2' });
    for (const [gw, sub] of [
      [a, 'p1'],
      [b, 'p2'],
      [a, 'p3'],
      [b, 'p4'],
    ] as const)
      expect((await attempt(endpoint(gw, transport), sub)).welcomed).toBe(true);
    const error = refused(await attempt(endpoint(a, transport), 'p5'), 'CONNECT_RATE_LIMITED', 4029);
    expect(error.retryAfterMs).toBeLessThanOrEqual(2000 * (1 + AT_LEAST_JITTER));
    refused(await attempt(endpoint(b, transport), 'p6'), 'CONNECT_RATE_LIMITED', 4029);

    await sleep((error.retryAfterMs as number) + 50);
    expect((await attempt(endpoint(b, transport), 'p7')).welcomed).toBe(true);
  });

  it('RATE_CONNECT_PER_IP: a socket past the limit is closed at once with CONNECT_RATE_LIMITED/4029, without waiting for its hello', async () => {
    const gw = await startTestGateway({ RATE_CONNECT_PER_IP: '2', RATE_WINDOW_S: '60' });
    gateways.push(gw);
    const silent = await Promise.all([1, 2].map(() => TestClient.connect(endpoint(gw, transport))));
    clients.push(...silent);
    const flood = await Promise.all([1, 2, 3].map(() => TestClient.connect(endpoint(gw, transport))));
    clients.push(...flood);
    for (const client of flood) {
      // Not one frame sent: the refusal comes by itself, and the socket is gone.
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      expect(error).toMatchObject({ code: 'CONNECT_RATE_LIMITED', retryable: true });
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect((await client.waitClosed()).code).toBe(4029);
    }
    await settledTo(gw, 2);
    for (const client of silent) expect(client.closed).toBeUndefined();
  });

  it('RATE_CONNECT_PER_USER: one user past the limit is refused on both gateways with USER_CONNECT_RATE_LIMITED/4032 while others get in; it recovers', async () => {
    const [a, b] = await pair({ RATE_CONNECT_PER_USER: '3', RATE_WINDOW_S: '2' });
    for (const gw of [a, b, a]) expect((await attempt(endpoint(gw, transport), 'eager')).welcomed).toBe(true);
    const error = refused(await attempt(endpoint(b, transport), 'eager'), 'USER_CONNECT_RATE_LIMITED', 4032);
    refused(await attempt(endpoint(a, transport), 'eager'), 'USER_CONNECT_RATE_LIMITED', 4032);
    expect((await attempt(endpoint(b, transport), 'calm')).welcomed).toBe(true);

    await sleep((error.retryAfterMs as number) + 50);
    expect((await attempt(endpoint(a, transport), 'eager')).welcomed).toBe(true);
  });
});

describe('the attempt window slides', () => {
  it('after retryAfterMs only the attempts that left the window are free again, not a whole new budget', async () => {
    const [a, b] = await pair({ RATE_CONNECT_PER_USER: '3', RATE_WINDOW_S: '4' });
    expect((await attempt(a.url, 'slider')).welcomed).toBe(true);
    const firstCountedBy = Date.now(); // the attempt was counted before its welcome
    await sleep(2000);
    for (const gw of [b, a]) expect((await attempt(gw.url, 'slider')).welcomed).toBe(true);
    const laterCountedBy = Date.now();

    // Refused together, told to come back when the oldest attempt leaves the window —
    // not a whole window later — and not all at the same instant.
    const refusedFrom = Date.now();
    const refusals = await Promise.all([a, b, a, b].map((gw) => attempt(gw.url, 'slider')));
    const hints = refusals.map(
      (outcome) => refused(outcome, 'USER_CONNECT_RATE_LIMITED', 4032).retryAfterMs as number,
    );
    const oldestLeavesWithinMs = firstCountedBy + 4000 - refusedFrom;
    for (const hint of hints)
      expect(hint).toBeLessThanOrEqual(Math.ceil(oldestLeavesWithinMs * (1 + AT_LEAST_JITTER)));
    expect(new Set(hints).size).toBeGreaterThan(1);

    // Never too early: whoever honours its hint gets in...
    await sleep(Math.min(...hints));
    expect((await attempt(b.url, 'slider')).welcomed).toBe(true);
    // ...but only in the one place the oldest attempt freed: the two later ones are still in the window.
    const nextFrom = Date.now();
    const next = refused(await attempt(a.url, 'slider'), 'USER_CONNECT_RATE_LIMITED', 4032);
    const secondLeavesWithinMs = laterCountedBy + 4000 - nextFrom;
    expect(next.retryAfterMs).toBeLessThanOrEqual(Math.ceil(secondLeavesWithinMs * (1 + AT_LEAST_JITTER)));
  });

  it('while Redis errors on the attempt log, an in-memory limiter with the same numbers stands in', async () => {
    const gw = await startTestGateway({ RATE_CONNECT_PER_USER: '2', RATE_WINDOW_S: '60' });
    gateways.push(gw);
    // A key of the wrong type makes every script call on it fail, as a sick Redis would.
    const redis = connectTestRedis(gw.redisUrl);
    await redis.set(`${gw.prefix}:rl:attempts:user:unlucky`, 'not a sorted set');
    redis.disconnect();
    for (let i = 0; i < 2; i++) expect((await attempt(gw.url, 'unlucky')).welcomed).toBe(true);
    refused(await attempt(gw.url, 'unlucky'), 'USER_CONNECT_RATE_LIMITED', 4032);
    expect((await attempt(gw.url, 'lucky')).welcomed).toBe(true);
  });
});

describe.each(TRANSPORTS)('concurrent connections, over %s', (transport: Transport) => {
  it('MAX_CONNECTIONS_PER_USER: the one past the limit across gateways gets USER_TOO_MANY_CONNECTIONS/4033; a close frees a slot', async () => {
    const [a, b] = await pair({ MAX_CONNECTIONS_PER_USER: '2' });
    const first = await attempt(endpoint(a, transport), 'busy');
    expect(first.welcomed).toBe(true);
    expect((await attempt(endpoint(b, transport), 'busy')).welcomed).toBe(true);
    refused(await attempt(endpoint(b, transport), 'busy'), 'USER_TOO_MANY_CONNECTIONS', 4033);
    refused(await attempt(endpoint(a, transport), 'busy'), 'USER_TOO_MANY_CONNECTIONS', 4033);
    expect((await attempt(endpoint(a, transport), 'other')).welcomed).toBe(true);

    first.client.close();
    await first.client.waitClosed();
    await settledTo(a, 1); // only 'other' is left on a
    expect((await attempt(endpoint(a, transport), 'busy')).welcomed).toBe(true);
  });

  it('MAX_CONNECTIONS_PER_IP: the one past the limit across gateways gets TOO_MANY_CONNECTIONS/4030; a close frees a slot', async () => {
    const [a, b] = await pair({ MAX_CONNECTIONS_PER_IP: '3' });
    const held = [
      await attempt(endpoint(a, transport), 'i1'),
      await attempt(endpoint(b, transport), 'i2'),
      await attempt(endpoint(b, transport), 'i3'),
    ];
    for (const outcome of held) expect(outcome.welcomed).toBe(true);
    refused(await attempt(endpoint(a, transport), 'i4'), 'TOO_MANY_CONNECTIONS', 4030);

    const leaving = held[1] as Outcome;
    leaving.client.close();
    await leaving.client.waitClosed();
    await settledTo(b, 1);
    expect((await attempt(endpoint(a, transport), 'i4')).welcomed).toBe(true);
    refused(await attempt(endpoint(b, transport), 'i5'), 'TOO_MANY_CONNECTIONS', 4030);
  });

  it('X-Forwarded-For from a trusted peer names the client: distinct clients behind one proxy are counted apart', async () => {
    const gw = await startTestGateway({ TRUSTED_PROXIES: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '1' });
    gateways.push(gw);
    expect((await attempt(endpoint(gw, transport), 'x1', HEADERS('203.0.113.7'))).welcomed).toBe(true);
    expect((await attempt(endpoint(gw, transport), 'x2', HEADERS('203.0.113.8'))).welcomed).toBe(true);
    refused(
      await attempt(endpoint(gw, transport), 'x3', HEADERS('203.0.113.7')),
      'TOO_MANY_CONNECTIONS',
      4030,
    );
  });

  it('an IPv6 client counts by its /64: another address of its block shares its budget, the next block has its own', async () => {
    const gw = await startTestGateway({ TRUSTED_PROXIES: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '2' });
    gateways.push(gw);
    for (const [user, ip] of [
      ['v1', '2001:db8:1:2::1'],
      ['v2', '2001:db8:1:2:aaaa:bbbb:cccc:dddd'],
    ] as const)
      expect((await attempt(endpoint(gw, transport), user, HEADERS(ip))).welcomed).toBe(true);
    refused(
      await attempt(endpoint(gw, transport), 'v3', HEADERS('2001:db8:1:2::ffff')),
      'TOO_MANY_CONNECTIONS',
      4030,
    );
    expect((await attempt(endpoint(gw, transport), 'v4', HEADERS('2001:db8:1:3::1'))).welcomed).toBe(true);
  });
});

describe.each(TRANSPORTS)('refusals counted as hits, over %s', (transport: Transport) => {
  it('a hello past two limits at once is one hit, on the limit the client was told', async () => {
    const gw = await startTestGateway({ RATE_CONNECT_PER_USER: '5', MAX_CONNECTIONS_PER_USER: '3' });
    gateways.push(gw);
    const told: Record<string, number> = {};
    for (let i = 0; i < 7; i++) {
      const outcome = await attempt(endpoint(gw, transport), 'twice-over');
      if (!outcome.welcomed) told[outcome.error.code] = (told[outcome.error.code] ?? 0) + 1;
    }
    // The 6th and 7th are past both the attempt budget and the slots; they are told the former.
    expect(told).toEqual({ USER_TOO_MANY_CONNECTIONS: 2, USER_CONNECT_RATE_LIMITED: 2 });
    const res = await fetch(`${gw.http}/ws/stats/rate-limit`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    expect(((await res.json()) as { hitsSinceStart: unknown }).hitsSinceStart).toEqual({
      'concurrent-user': 2,
      'connect-user': 2,
    });
  });
});

// The slot's lease and claim: a close reaches the core alike from either transport.
describe('concurrent connections: the slot', () => {
  it('a connection held longer than its slot lease keeps the slot (the lease loop renews it)', async () => {
    const gw = await startTestGateway({ MAX_CONNECTIONS_PER_USER: '1', SESSION_LEASE_MS: '1000' });
    gateways.push(gw);
    expect((await attempt(gw.url, 'steady')).welcomed).toBe(true);
    await sleep(2500); // past 2 × SESSION_LEASE_MS, the lease a slot is first claimed for
    refused(await attempt(gw.url, 'steady'), 'USER_TOO_MANY_CONNECTIONS', 4033);
  });

  it('one address holding 150,000 slots on a process: the lease loop renews every one', async () => {
    // One client address for every connection: an L4 load balancer without the PROXY protocol,
    // MAX_CONNECTIONS_PER_IP raised to match. The refresh was one script call for the whole set,
    // its members as the call's arguments: past ~120,000 the call itself threw (RangeError), so
    // none was renewed, and at 60,000 it held Redis 155 ms, every SESSION_LEASE_MS.
    const redis = connectTestRedis();
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const key = `${prefix}:{cc:ip:10.0.0.1}`;
    const leaseMs = 60_000;
    try {
      const config: LimitsConfig = {
        trustedProxies: [],
        windowS: 60,
        connectPerIp: 0,
        connectPerUser: 0,
        maxPerIp: 200_000,
        maxPerUser: 0,
        messagesPerSecond: 0,
        authFailuresPerIp: 0,
        authFailureWindowS: 60,
      };
      const limits = new RateLimits(redis, prefix, config, leaseMs);
      const members = Array.from({ length: 150_000 }, (_, i) => `conn-${i}`);
      const lapsing = Date.now() + 5_000;
      for (let i = 0; i < members.length; i += 10_000)
        await redis.zadd(key, ...members.slice(i, i + 10_000).flatMap((member) => [lapsing, member]));
      const refreshedAt = Date.now();
      await limits.refreshSlots(members.map((member) => ({ scope: 'ip' as const, id: '10.0.0.1', member })));
      expect(await redis.zcard(key)).toBe(members.length);
      expect(await redis.zcount(key, '-inf', refreshedAt + 2 * leaseMs - 1)).toBe(0);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('a socket that closes while its slot is being claimed does not keep the slot', async () => {
    // A private Redis: its writes are paused below, which must not stall other test files.
    const redisServer = await startRedisServer();
    const pauser = new Redis(redisServer.url);
    try {
      const gw = await startTestGateway({
        REDIS_URL: redisServer.url,
        MAX_CONNECTIONS_PER_USER: '1',
        // Only the user's slot is claimed in Redis before admission.
        RATE_CONNECT_PER_IP: '0',
        RATE_CONNECT_PER_USER: '0',
        MAX_CONNECTIONS_PER_IP: '0',
      });
      gateways.push(gw);
      const leaver = await TestClient.connect(gw.url);
      clients.push(leaver);
      await pauser.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      leaver.send({ type: 'hello', token: await mintToken({ sub: 'hasty' }) });
      await sleep(300); // token verified, the claim waits on the paused Redis
      leaver.drop();
      await settledTo(gw, 0);
      await pauser.call('CLIENT', 'UNPAUSE');
      // The claim lands after the socket is gone: it must be handed back at once.
      await eventually(
        async () => (await pauser.zcard(`${gw.prefix}:{cc:user:hasty}`)) === 0,
        'the late slot released',
      );
      expect((await attempt(gw.url, 'hasty')).welcomed).toBe(true);
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE').catch(() => {});
      pauser.disconnect();
      for (const client of clients.splice(0)) client.drop();
      await Promise.all(gateways.splice(0).map((g) => g.stop()));
      await redisServer.stop();
    }
  });
});

describe('trusted proxies', () => {
  it('on a dual-stack gateway (HOST=::) an IPv4 proxy matches its CIDR entry, and clients behind it are counted apart', async () => {
    const gw = await startTestGateway({
      HOST: '::',
      TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.0/8',
      MAX_CONNECTIONS_PER_IP: '1',
    });
    gateways.push(gw);
    expect((await attempt(gw.url, 'd1', HEADERS('203.0.113.7'))).welcomed).toBe(true);
    expect((await attempt(gw.url, 'd2', HEADERS('2001:db8:0:0::1'))).welcomed).toBe(true);
    refused(await attempt(gw.url, 'd3', HEADERS('203.0.113.7')), 'TOO_MANY_CONNECTIONS', 4030);
    // The same IPv6 client, spelled another way, is the same client.
    refused(await attempt(gw.url, 'd4', HEADERS('2001:DB8::1')), 'TOO_MANY_CONNECTIONS', 4030);
  });

  it('one client counts once against the per-IP limits whether a gateway listens on :: or on 127.0.0.1', async () => {
    const v4 = await startTestGateway({ MAX_CONNECTIONS_PER_IP: '1' });
    gateways.push(v4);
    const dual = await startTestGateway({ HOST: '::', REDIS_PREFIX: v4.prefix, MAX_CONNECTIONS_PER_IP: '1' });
    gateways.push(dual);
    expect((await attempt(v4.url, 'n1')).welcomed).toBe(true);
    refused(await attempt(dual.url, 'n2'), 'TOO_MANY_CONNECTIONS', 4030);
  });

  it('X-Forwarded-For from an untrusted peer is ignored: the peer address is what counts', async () => {
    const gw = await startTestGateway({ TRUSTED_PROXIES: '10.0.0.1', MAX_CONNECTIONS_PER_IP: '1' });
    gateways.push(gw);
    expect((await attempt(gw.url, 'y1', HEADERS('203.0.113.7'))).welcomed).toBe(true);
    refused(await attempt(gw.url, 'y2', HEADERS('203.0.113.8')), 'TOO_MANY_CONNECTIONS', 4030);
  });
});

describe('across gateway processes', () => {
  it(
    'two real processes share the per-user slots: the third connection, on either, gets USER_TOO_MANY_CONNECTIONS/4033',
    async () => {
      const env = processEnv({ MAX_CONNECTIONS_PER_USER: '2' });
      const [a, b] = await Promise.all([
        spawnGateway(env),
        spawnGateway({ ...env, REDIS_PREFIX: env.REDIS_PREFIX as string }),
      ]);
      processes.push(a, b);
      const first = await attempt(a.url, 'roamer');
      expect(first.welcomed).toBe(true);
      expect((await attempt(b.url, 'roamer')).welcomed).toBe(true);
      refused(await attempt(a.url, 'roamer'), 'USER_TOO_MANY_CONNECTIONS', 4033);
      refused(await attempt(b.url, 'roamer'), 'USER_TOO_MANY_CONNECTIONS', 4033);

      // A close on one process frees the slot for the other.
      first.client.close();
      await first.client.waitClosed();
      await eventually(
        async () => (await attempt(b.url, 'roamer')).welcomed,
        'a slot freed on a, taken on b',
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    "a SIGKILLed process's slots leave the sets a live process keeps alive: only live connections stay members",
    async () => {
      const limits = { MAX_CONNECTIONS_PER_USER: '10', SESSION_LEASE_MS: '1000' };
      const env = processEnv(limits);
      const crashing = await spawnGateway(env);
      processes.push(crashing);
      const live = await startTestGateway({ ...limits, REDIS_PREFIX: env.REDIS_PREFIX as string });
      gateways.push(live);
      for (let i = 0; i < 3; i++) expect((await attempt(crashing.url, 'survivor')).welcomed).toBe(true);
      expect((await attempt(live.url, 'survivor')).welcomed).toBe(true);
      const redis = connectTestRedis();
      try {
        const sets = [`${live.prefix}:{cc:user:survivor}`, `${live.prefix}:{cc:ip:127.0.0.1}`];
        for (const key of sets) expect(await redis.zcard(key)).toBe(4);
        await crashing.kill('SIGKILL');
        // Its slots' leases end 2 × SESSION_LEASE_MS after their last renewal; the live
        // process renews the sets (and their TTL) every SESSION_LEASE_MS meanwhile, so a
        // set whose lapsed members were never taken out would keep them for as long as
        // one connection of that user (or address) stays — members of dead connections.
        await eventually(
          async () => (await Promise.all(sets.map((key) => redis.zcard(key)))).every((n) => n === 1),
          "only the live connection's slot in each set",
          8000,
        );
      } finally {
        redis.disconnect();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('AUTH_FAILURES_PER_IP is one budget for both gateways: of 30 bad hellos split between them, 3 hear AUTH_INVALID_TOKEN', async () => {
    const [a, b] = await pair({ AUTH_FAILURES_PER_IP: '3', AUTH_FAILURE_WINDOW_S: '60' });
    const outcomes = await badHellos(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).url));
    expect(outcomes.filter((o) => o.code === 'AUTH_INVALID_TOKEN')).toHaveLength(3);
    expect(outcomes.filter((o) => o.code === 'AUTH_RATE_LIMITED')).toHaveLength(27);
    // Past the shared budget a good token is refused on either.
    refused(await attempt(a.url, 'alice'), 'AUTH_RATE_LIMITED', 4031);
    refused(await attempt(b.url, 'alice'), 'AUTH_RATE_LIMITED', 4031);
  });
});

describe.each(TRANSPORTS)('inside a session, over %s', (transport: Transport) => {
  it('MESSAGES_PER_SECOND: frames over the rate get MESSAGE_RATE_LIMITED with their ref and a turn each; resent after their hints, all go through', async () => {
    const gw = await startTestGateway({ MESSAGES_PER_SECOND: '20' }); // bursts of 40
    gateways.push(gw);
    const { client } = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'chatty' }),
    });
    clients.push(client);
    const refs = Array.from({ length: 100 }, (_, i) => `m${i}`);
    for (const ref of refs) client.send({ type: 'publish', channel: 'rl:room', data: { ref }, ref });

    const answer = (ref: string) => client.frames.find((f) => 'ref' in f && f.ref === ref);
    await eventually(() => refs.every(answer), 'an answer to every publish');
    const limited = refs.filter((ref) => answer(ref)?.type === 'error');
    expect(limited.length).toBeGreaterThanOrEqual(30);
    expect(refs.filter((ref) => answer(ref)?.type === 'ack').length).toBeGreaterThanOrEqual(30);
    for (const [turn, ref] of limited.entries()) {
      const error = answer(ref) as ErrorFrame;
      expect(error).toMatchObject({ code: 'MESSAGE_RATE_LIMITED', retryable: true });
      // Its own turn: one token (1/20 s) after the frame refused before it, not all at the
      // moment one token is back (then every resent frame but one is refused again).
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(50 * turn - 100);
      expect(error.retryAfterMs).toBeLessThanOrEqual(
        Math.ceil(50 * (turn + 1) * (1 + AT_LEAST_JITTER)) + 100,
      );
    }
    expect(client.closed).toBeUndefined();

    // A client that sends each refused frame again after its own hint: each goes through.
    const resent = limited.map((ref) => `${ref}-again`);
    for (const ref of limited) {
      const { retryAfterMs } = answer(ref) as ErrorFrame;
      setTimeout(() => {
        if (!client.closed)
          client.send({ type: 'publish', channel: 'rl:room', data: { ref }, ref: `${ref}-again` });
      }, retryAfterMs);
    }
    await eventually(() => resent.every(answer), 'answers to the resent frames', 15_000);
    expect(resent.filter((ref) => answer(ref)?.type !== 'ack')).toEqual([]);
    expect(client.closed).toBeUndefined();
  });

  it('a client that goes on sending while refused is closed with TOO_MANY_ERRORS/1008 after 2,000 refusals in a minute; one log line, a bystander unaffected', async () => {
    const gw = await startLoggedGateway({ MESSAGES_PER_SECOND: '5', LOG_LEVEL: 'info' });
    loggedGateways.push(gw);
    const calm = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'calm' }),
    });
    clients.push(calm.client);
    calm.client.send({ type: 'subscribe', channel: 'rl:calm', ref: 'sub' });
    await calm.client.next((f) => f.type === 'subscribed');
    const { client: flooder } = await TestClient.session(endpoint(gw, transport), {
      token: await mintToken({ sub: 'flooder' }),
    });
    clients.push(flooder);

    for (let i = 0; i < FLOOD_REFUSALS + 500; i++)
      flooder.send({ type: 'publish', channel: 'rl:flood', data: { i }, ref: `f${i}` });
    expect((await flooder.waitClosed(10_000)).code).toBe(1008);
    const errors = flooder.frames.filter((f): f is ErrorFrame => f.type === 'error');
    expect(errors.filter((e) => e.code === 'MESSAGE_RATE_LIMITED')).toHaveLength(FLOOD_REFUSALS);
    expect(errors.at(-1)).toMatchObject({ code: 'TOO_MANY_ERRORS', retryable: true });

    // Its refusals were counted, and logged once; the close is logged with its reason.
    const logged = gw.lines().filter((line) => line.code === 'MESSAGE_RATE_LIMITED');
    expect(logged).toHaveLength(1);
    expect(gw.lines().some((line) => line.code === 'TOO_MANY_ERRORS')).toBe(true);

    // The bystander's line is as it was: events reach it, it stays open.
    await publishHttp(gw.http, 'rl:calm', { after: 'flood' });
    await calm.client.waitForEvents(1, 'rl:calm');
    expect(calm.client.closed).toBeUndefined();
  });

  it('AUTH_FAILURES_PER_IP: failed hellos are answered ever later, then AUTH_RATE_LIMITED/4031 until the window passes', async () => {
    const gw = await startTestGateway({ AUTH_FAILURES_PER_IP: '3', AUTH_FAILURE_WINDOW_S: '2' });
    gateways.push(gw);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await TestClient.connect(endpoint(gw, transport));
      clients.push(client);
      const sentAt = Date.now();
      client.send({
        type: 'hello',
        token: await mintToken({ sub: 'mallory' }, WRONG_SECRET),
      });
      expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      waits.push(Date.now() - sentAt);
      expect((await client.waitClosed()).code).toBe(4001);
    }
    // Progressive: each failure is answered no sooner than 100 ms × 2^(n-1).
    for (const [n, ms] of waits.entries()) expect(ms).toBeGreaterThanOrEqual(100 * 2 ** n - 5);

    // Past the budget even a good token is refused, with a hint when to come back.
    const error = refused(await attempt(endpoint(gw, transport), 'alice'), 'AUTH_RATE_LIMITED', 4031);
    expect(error.retryAfterMs).toBeLessThanOrEqual(2000 * (1 + AT_LEAST_JITTER));
    await sleep((error.retryAfterMs as number) + 50);
    expect((await attempt(endpoint(gw, transport), 'alice')).welcomed).toBe(true);
  });

  it('a failed hello’s stall never outlasts HANDSHAKE_TIMEOUT_MS: each bad token hears AUTH_INVALID_TOKEN/4001, not HANDSHAKE_TIMEOUT', async () => {
    // Stalls of 100, 200, 400, 800 and 1,600 ms against a 700 ms handshake budget.
    const gw = await startTestGateway({ AUTH_FAILURES_PER_IP: '10', HANDSHAKE_TIMEOUT_MS: '700' });
    gateways.push(gw);
    const heard: [string, number][] = [];
    for (let i = 0; i < 5; i++) {
      const client = await TestClient.connect(endpoint(gw, transport));
      clients.push(client);
      client.send({ type: 'hello', token: await mintToken({ sub: 'mallory' }, WRONG_SECRET) });
      const error = (await client.next((f) => f.type === 'error')) as ErrorFrame;
      heard.push([error.code, (await client.waitClosed()).code]);
    }
    expect(heard).toEqual(Array.from({ length: 5 }, () => ['AUTH_INVALID_TOKEN', 4001]));
  });

  it('AUTH_FAILURES_PER_IP holds against parallel hellos: of 30 bad tokens at once only 3 hear AUTH_INVALID_TOKEN, the rest AUTH_RATE_LIMITED/4031', async () => {
    const gw = await startTestGateway({ AUTH_FAILURES_PER_IP: '3', AUTH_FAILURE_WINDOW_S: '60' });
    gateways.push(gw);
    const outcomes = await badHellos(Array.from({ length: 30 }, () => endpoint(gw, transport)));
    expect(outcomes.filter((o) => o.code === 'AUTH_INVALID_TOKEN').map((o) => o.closeCode)).toEqual([
      4001, 4001, 4001,
    ]);
    const limited = outcomes.filter((o) => o.code !== 'AUTH_INVALID_TOKEN');
    expect(limited).toHaveLength(27);
    for (const o of limited) expect([o.code, o.closeCode]).toEqual(['AUTH_RATE_LIMITED', 4031]);
    refused(await attempt(endpoint(gw, transport), 'alice'), 'AUTH_RATE_LIMITED', 4031);
  });
});
