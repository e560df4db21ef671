/**
 * src/config/config.ts: one validated schema read from the environment. A bad
 * value stops start-up with a message naming the variable and what is allowed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { EnvSchema } from '../../src/config/config-schema.ts';
import { refusal } from '../support/config-refusal.ts';

const SECRET = 's'.repeat(32);
const API_KEY = 'k'.repeat(16);
const PRODUCTION = {
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: SECRET,
  PUBLISH_API_KEYS: API_KEY,
  REDIS_URL: 'redis://redis.internal:6379',
};

/** A real public key of the given type, as the SPKI PEM an auth provider publishes. */
function publicPem(type: 'rsa' | 'ec' | 'ed25519', options: Record<string, unknown> = {}): string {
  const { publicKey } = generateKeyPairSync(type as 'rsa', { modulusLength: 2048, ...options });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

describe('defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      host: '0.0.0.0',
      port: 8080,
      redisPrefix: 'tether',
      maxMessageBytes: 65_536,
      idleTimeoutS: 40, // uWS pings after 30 s of silence, closes 10 s later
      handshakeTimeoutMs: 10_000,
      resumeWindowMs: 120_000,
      channelRetention: 10_000,
      maxBackpressureBytes: 1_048_576,
      maxConnections: 10_000,
      maxErrorsPerMinute: 20,
      drainTimeoutMs: 10_000,
      drainBatchSize: 500,
      sessionLeaseMs: 30_000,
      logLevel: 'info',
      publishApiKeys: [],
    });
    expect(config.redisUrl).toBeUndefined();
    expect(config.nodeId).toBe(`${hostname()}-${process.pid}`);
    expect(config.admission.queueMax).toBe(1000);
  });

  it('by default no action is low priority: the default class is below ACTIONS_LOW_PRIORITY_FROM', () => {
    const { actions } = loadConfig({});
    expect(actions).toMatchObject({ priorities: { default: 5 }, lowPriorityFrom: 6 });
    expect(actions.priorities.default).toBeLessThan(actions.lowPriorityFrom);
  });

  it('every variable in the schema has a description (the README table is built from them)', () => {
    for (const [name, schema] of Object.entries(EnvSchema.properties)) {
      expect((schema as { description?: string }).description, name).toBeTruthy();
    }
  });

  it('an empty string counts as unset, and variables outside the schema are ignored', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '', TETHER_UNKNOWN: 'x' });
    expect(config.port).toBe(8080);
    expect(config.logLevel).toBe('info');
  });
});

describe('coercion', () => {
  it('turns numeric strings into numbers', () => {
    const config = loadConfig({
      PORT: '9000',
      HANDSHAKE_TIMEOUT_MS: '250',
      RESUME_WINDOW_MS: '5000',
      MAX_MESSAGE_BYTES: '1024',
    });
    expect(config.port).toBe(9000);
    expect(config.handshakeTimeoutMs).toBe(250);
    expect(config.resumeWindowMs).toBe(5000);
    expect(config.maxMessageBytes).toBe(1024);
  });

  it('splits and trims comma-separated API keys', () => {
    const config = loadConfig({ PUBLISH_API_KEYS: ` ${API_KEY} ,${'j'.repeat(16)},` });
    expect(config.publishApiKeys).toEqual([API_KEY, 'j'.repeat(16)]);
  });

  it('keeps strings as given', () => {
    const config = loadConfig({ REDIS_URL: 'rediss://user:pw@redis.example:6380/2', NODE_ID: 'gw-a' });
    expect(config.redisUrl).toBe('rediss://user:pw@redis.example:6380/2');
    expect(config.nodeId).toBe('gw-a');
  });
});

describe('a bad value names the variable and the rule', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT="abc"', 'must be a whole number'],
    [{ PORT: '70000' }, 'PORT="70000"', 'must be at most 65535'],
    [{ PORT: '-1' }, 'PORT="-1"', 'must be at least 0'],
    [{ MAX_MESSAGE_BYTES: '12.5' }, 'MAX_MESSAGE_BYTES="12.5"', 'must be a whole number of bytes'],
    [{ MAX_MESSAGE_BYTES: '100' }, 'MAX_MESSAGE_BYTES="100"', 'must be at least 1024 bytes'],
    [{ HANDSHAKE_TIMEOUT_MS: '10' }, 'HANDSHAKE_TIMEOUT_MS="10"', 'must be at least 100 ms'],
    [{ RATE_WINDOW_S: '0' }, 'RATE_WINDOW_S="0"', 'must be at least 1 s'],
    [{ RESUME_WINDOW_MS: 'soon' }, 'RESUME_WINDOW_MS="soon"', 'must be a whole number of ms'],
    [{ REUSE_PORT: 'maybe' }, 'REUSE_PORT="maybe"', 'must be true or false'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL="http://localhost"', 'for example "redis://'],
    [{ REDIS_PREFIX: 'has space' }, 'REDIS_PREFIX="has space"', 'for example "tether"'],
    [{ TIER_PRIORITIES: 'gold:1' }, 'TIER_PRIORITIES="gold:1"', 'for example "enterprise=1,pro=2,free=4"'],
    [{ ALLOWED_ORIGINS: 'app.example.com' }, 'ALLOWED_ORIGINS="app.example.com"', 'for example "https://'],
    [
      { AUTH_JWT_SECRET: 'short' },
      'AUTH_JWT_SECRET=<hidden, 5 characters>',
      'must be at least 32 characters',
    ],
    [
      { PUBLISH_API_KEYS: 'short' },
      'PUBLISH_API_KEYS=<hidden, 5 characters>',
      'must be at least 16 characters',
    ],
    [{ WS_COMPRESSION: 'gzip' }, 'WS_COMPRESSION="gzip"', 'must be one of off, shared, dedicated'],
    [{ WS_COMPRESSION_WINDOW_KB: '5' }, 'WS_COMPRESSION_WINDOW_KB="5"', 'must be one of 4, 8, 16, 32 KiB'],
    [
      { WS_COMPRESSION_THRESHOLD_BYTES: '-1' },
      'WS_COMPRESSION_THRESHOLD_BYTES="-1"',
      'must be at least 0 bytes',
    ],
  ])('%j', (env, variable, rule) => {
    const message = refusal(env);
    expect(message).toContain('Invalid configuration');
    expect(message).toContain(variable);
    expect(message).toContain(rule);
  });

  it('never prints a secret, nor the password in a URL', () => {
    const message = refusal({
      AUTH_JWT_SECRET: 'hunter2-secret',
      ADMIN_API_KEY: 'admin-pw',
      PUBLISH_API_KEYS: 'pk-1,pk-2',
      REDIS_URL: 'http://app:p4ssw0rd@redis.internal:6379',
    });
    for (const secret of ['hunter2-secret', 'admin-pw', 'pk-1', 'p4ssw0rd'])
      expect(message).not.toContain(secret);
    expect(message).toContain('ADMIN_API_KEY=<hidden, 8 characters>');
    expect(message).toContain('REDIS_URL="http://app:***@redis.internal:6379"');
  });

  it('a pattern error shows a valid value, never the regex', () => {
    const message = refusal({ LIFECYCLE_EVENTS: 'sessions;channels', INSPECT: 'some' });
    expect(message).toContain(
      'LIFECYCLE_EVENTS="sessions;channels": not in the expected form; for example "sessions,channels"',
    );
    expect(message).toContain('for example "sample:100"');
    expect(message).not.toMatch(/pattern|\^|\$"/);
  });

  it('every variable with a pattern has examples, each of them accepted', () => {
    for (const [name, schema] of Object.entries(EnvSchema.properties)) {
      const { pattern, examples } = schema as { pattern?: string; examples?: string[] };
      if (!pattern) continue;
      expect(examples?.length, name).toBeGreaterThan(0);
      for (const example of examples ?? [])
        expect(new RegExp(pattern).test(example), `${name}=${example}`).toBe(true);
    }
  });

  it('says what the variable is for', () => {
    expect(refusal({ PORT: 'abc' })).toContain('WebSocket + HTTP port');
  });

  it('lists the allowed values of a union once', () => {
    const message = refusal({ LOG_LEVEL: 'loud' });
    expect(message).toContain(
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(message.split('\n').filter((line) => line.includes('LOG_LEVEL'))).toHaveLength(1);
    expect(message).not.toContain('must be equal to constant');
  });

  it('reports every bad variable at once', () => {
    const message = refusal({ PORT: 'abc', RESUME_WINDOW_MS: 'soon' });
    expect(message).toContain('PORT="abc"');
    expect(message).toContain('RESUME_WINDOW_MS="soon"');
  });
});

describe('auth and development mode', () => {
  it('no auth configured → development mode', () => {
    const config = loadConfig({});
    expect(config.devMode).toBe(true);
    expect(config.auth).toEqual({
      requireExp: false,
      hs256Secret: undefined,
      publicKeyPem: undefined,
      jwksUrl: undefined,
      issuer: undefined,
      audience: undefined,
    });
  });

  it.each([
    { AUTH_JWT_SECRET: SECRET },
    { AUTH_JWT_PUBLIC_KEY: publicPem('rsa') },
    { AUTH_JWKS_URL: 'https://auth.example/.well-known/jwks.json' },
  ])('any one auth source turns development mode off: %j', (env) => {
    expect(loadConfig(env).devMode).toBe(false);
  });

  it.each([
    ['an RSA key', publicPem('rsa')],
    ['an EC P-256 key', publicPem('ec', { namedCurve: 'P-256' })],
    ['an EC P-384 key', publicPem('ec', { namedCurve: 'P-384' })],
    ['an Ed25519 key', publicPem('ed25519')],
  ])('AUTH_JWT_PUBLIC_KEY accepts %s', (_, pem) => {
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: pem }).auth.publicKeyPem).toBe(pem);
  });

  it('AUTH_JWT_PUBLIC_KEY written on one line with \\n escapes (as in an env file) is the same key', () => {
    const pem = publicPem('ec', { namedCurve: 'P-256' });
    const oneLine = pem.replace(/\n/g, '\\n');
    expect(oneLine).not.toContain('\n');
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: oneLine }).auth.publicKeyPem).toBe(pem);
  });

  it.each([
    ['not a PEM at all', 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', /not a PEM public key/],
    ['a truncated PEM', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----', /not a PEM public key/],
    [
      'a private key',
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
      /private key/,
    ],
    ['an RSA key under 2048 bits', publicPem('rsa', { modulusLength: 1024 }), /1024 bits; at least 2048/],
    ['an EC key on an unsupported curve', publicPem('ec', { namedCurve: 'secp256k1' }), /curve secp256k1/],
  ])('AUTH_JWT_PUBLIC_KEY refuses %s at start-up, naming the variable', (_, pem, why) => {
    const message = refusal({ AUTH_JWT_PUBLIC_KEY: pem });
    expect(message).toContain('AUTH_JWT_PUBLIC_KEY');
    expect(message).toMatch(why);
  });

  it('issuer and audience are passed to the verifier', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'iss', AUTH_AUDIENCE: 'aud' });
    expect(config.auth).toMatchObject({ hs256Secret: SECRET, issuer: 'iss', audience: 'aud' });
  });

  it('production without auth is refused, naming the variables that would fix it', () => {
    const message = refusal({ NODE_ENV: 'production', PUBLISH_API_KEYS: API_KEY });
    expect(message).toContain('NODE_ENV=production');
    expect(message).toMatch(/AUTH_JWT_SECRET.*AUTH_JWT_PUBLIC_KEY.*AUTH_JWKS_URL/);
  });

  it('production without publish API keys is refused', () => {
    expect(refusal({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET })).toContain('PUBLISH_API_KEYS');
  });

  it('production without REDIS_URL is refused: the embedded redis-server keeps nothing across restarts', () => {
    const production = { NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, PUBLISH_API_KEYS: API_KEY };
    for (const env of [production, { ...production, REDIS_URL: 'embedded' }]) {
      const message = refusal(env);
      expect(message).toContain('NODE_ENV=production requires REDIS_URL=redis://host:port');
      expect(message).toContain('appendonly yes');
    }
  });

  it('production with auth, API keys and Redis starts, not in development mode', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.production).toBe(true);
    expect(config.devMode).toBe(false);
  });

  it('AUTH_REQUIRE_EXP is on in production and off elsewhere unless set', () => {
    expect(loadConfig(PRODUCTION).auth.requireExp).toBe(true);
    expect(loadConfig({ ...PRODUCTION, AUTH_REQUIRE_EXP: 'false' }).auth.requireExp).toBe(false);
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET }).auth.requireExp).toBe(false);
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_REQUIRE_EXP: 'true' }).auth.requireExp).toBe(true);
  });

  it('name → number tables find nothing for object keys (a token tier may be `constructor`)', () => {
    const { admission, actions } = loadConfig({ TIER_PRIORITIES: 'gold=1', ACTION_PRIORITIES: 'urgent=1' });
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      expect([admission.tierPriorities[key], actions.priorities[key]]).toEqual([undefined, undefined]);
  });
});

describe('thresholds that contradict each other are refused', () => {
  it.each([
    ['SATURATE_EVENT_LOOP_LAG_MS', '600', 'SHED_EVENT_LOOP_LAG_MS', '500', ' ms'],
    ['SATURATE_HEAP_RATIO', '0.97', 'SHED_HEAP_RATIO', '0.9', ''],
    ['SATURATE_BUFFERED_BYTES', '2000', 'SHED_BUFFERED_BYTES', '1000', ' bytes'],
  ])('%s above %s', (low, lowValue, high, highValue, unit) => {
    expect(refusal({ [low]: lowValue, [high]: highValue })).toContain(
      `${low}=${lowValue}${unit} is above ${high}=${highValue}${unit}: saturation must come before shedding`,
    );
  });

  it('equal thresholds, and a buffered-bytes shed threshold of 0 (off), are accepted', () => {
    expect(
      loadConfig({ SATURATE_EVENT_LOOP_LAG_MS: '500', SHED_EVENT_LOOP_LAG_MS: '500' }).admission.saturate
        .lagMs,
    ).toBe(500);
    expect(
      loadConfig({ SATURATE_BUFFERED_BYTES: '2000', SHED_BUFFERED_BYTES: '0' }).admission.shed.bufferedBytes,
    ).toBe(0);
  });
});

describe('deployment options', () => {
  it('by default: an exclusive port, the embedded Redis under .tether/redis, any origin', () => {
    expect(loadConfig({})).toMatchObject({
      reusePort: false,
      redisDataDir: '.tether/redis',
      allowedOrigins: [],
    });
  });

  it('ALLOWED_ORIGINS is a list of origins, compared in lower case', () => {
    const config = loadConfig({ ALLOWED_ORIGINS: 'https://App.example.com, http://localhost:5173' });
    expect(config.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });
});
