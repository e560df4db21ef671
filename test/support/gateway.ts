/**
 * A real gateway in the test process (real sockets on the edge EDGE names, real Redis), on a free
 * port, with its own key prefix so test files never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { parseRedisUrl } from '../../src/redis/redis-target.ts';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const TEST_API_KEY = 'test-publish-key-0123456789';
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  /** The SSE fallback's endpoint (`GET /sse`, frames to `/sse/frames`). */
  sseUrl: string;
  http: string;
  prefix: string;
  redisUrl: string;
  stop(): Promise<void>;
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    AUTH_JWT_SECRET: TEST_SECRET,
    PUBLISH_API_KEYS: TEST_API_KEY,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    LOG_LEVEL: 'silent',
    REDIS_PREFIX: `t${randomBytes(4).toString('hex')}`,
    // A busy test box (parallel workers, spawned processes) lags the event loop past the
    // shedding thresholds; tests about shedding set these themselves.
    SATURATE_EVENT_LOOP_LAG_MS: '60000',
    SHED_EVENT_LOOP_LAG_MS: '60000',
    // The suite runs once per edge (vitest.config.ts's projects set EDGE).
    ...(process.env.EDGE ? { EDGE: process.env.EDGE } : {}),
    ...overrides,
  };
}

/**
 * testEnv for a gateway started in this test process. Those share the process's host-pid,
 * the default NODE_ID, and a Redis takes one live process per ID (src/redis/control-bus.ts):
 * each gets an ID of its own, as separate processes do.
 */
export function inProcessEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return testEnv({ NODE_ID: `test-${randomBytes(4).toString('hex')}`, ...overrides });
}

export async function startTestGateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const env = inProcessEnv(overrides);
  const redisUrl = env.REDIS_URL ?? inject('redisUrl');
  const config = loadConfig({ ...env, REDIS_URL: redisUrl });
  const guard = slotErrorGuard(redisUrl, env.LOG_LEVEL ?? 'silent');
  const logger = guard?.logger ?? pino({ level: env.LOG_LEVEL ?? 'silent' });
  const gateway = await startGateway(config, redisUrl, logger);
  return {
    gateway,
    url: `ws://127.0.0.1:${gateway.port}/ws`,
    sseUrl: `http://127.0.0.1:${gateway.port}/sse`,
    http: `http://127.0.0.1:${gateway.port}`,
    prefix: config.redisPrefix,
    redisUrl,
    stop: async () => {
      await gateway.shutdown();
      guard?.check();
    },
  };
}

/** What Redis answers a multi-key command or pipeline across slots, and what the lease loop logs then. */
export const SLOT_ERRORS = /CROSSSLOT|same slots allocation group|lease refresh failed/;

/**
 * On a cluster, a gateway that logged a slot error (a command the cluster refused,
 * often swallowed by a fallback the test cannot see) fails its test at stop.
 * Warnings are kept in memory for it; a silent test stays silent.
 */
function slotErrorGuard(redisUrl: string, level: string) {
  if (parseRedisUrl(redisUrl).kind !== 'cluster') return undefined;
  const lines: string[] = [];
  const verbose = level !== 'silent';
  const logger = pino(
    { level: verbose ? level : 'warn' },
    {
      write: (line: string) => {
        lines.push(line);
        if (verbose) process.stdout.write(line);
      },
    },
  );
  const check = () => {
    const refused = lines.filter((line) => SLOT_ERRORS.test(line));
    if (refused.length > 0) throw new Error(`the gateway logged slot errors:\n${refused.join('')}`);
  };
  return { logger, check };
}

export interface TokenClaims {
  sub?: string;
  channels?: string[];
  publish?: string[];
  actions?: string[];
  tier?: string;
  expiresIn?: string;
  /** false: no `iat` claim (a token that cannot show when it was issued). */
  issuedAt?: false;
}

export function mintToken(claims: TokenClaims = {}, secret = TEST_SECRET): Promise<string> {
  const jwt = new SignJWT({
    channels: claims.channels ?? ['*'],
    publish: claims.publish ?? ['*'],
    actions: claims.actions ?? ['*'],
    tier: claims.tier ?? 'standard',
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? 'alice')
    .setExpirationTime(claims.expiresIn ?? '1h');
  return (claims.issuedAt === false ? jwt : jwt.setIssuedAt()).sign(new TextEncoder().encode(secret));
}

/** POST /publish as a backend would; returns the event ID. */
export async function publishHttp(
  http: string,
  channel: string,
  data: unknown,
  idempotencyKey?: string,
): Promise<string> {
  const res = await fetch(`${http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) }),
  });
  if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
