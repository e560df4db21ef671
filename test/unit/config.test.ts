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
    [{ PORT: 'abc' }, 'PORT="abc"', 'must be integer'],
    [{ PORT: '70000' }, 'PORT="70000"', 'must be <= 65535'],
    [{ PORT: '-1' }, 'PORT="-1"', 'must be >= 0'],
    [{ MAX_MESSAGE_BYTES: '12.5' }, 'MAX_MESSAGE_BYTES="12.5"', 'must be integer'],
    [{ MAX_MESSAGE_BYTES: '100' }, 'MAX_MESSAGE_BYTES="100"', 'must be >= 1024'],
    [{ HANDSHAKE_TIMEOUT_MS: '10' }, 'HANDSHAKE_TIMEOUT_MS="10"', 'must be >= 100'],
    [
      { REDIS_URL: 'http://localhost' },
      'REDIS_URL="http://localhost"',
      'must match pattern "^rediss?(\\+(cluster|sentinel))?://"',
    ],
    [{ REDIS_PREFIX: 'has space' }, 'REDIS_PREFIX="has space"', 'must match pattern'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET="short"', 'must NOT have fewer than 32 characters'],
    [{ PUBLISH_API_KEYS: 'short' }, 'PUBLISH_API_KEYS="short"', 'must NOT have fewer than 16 characters'],
  ])('%j', (env, variable, rule) => {
    const message = refusal(env);
    expect(message).toContain('Invalid configuration');
    expect(message).toContain(variable);
    expect(message).toContain(rule);
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

  it('production with auth and API keys starts, not in development mode', () => {
    const config = loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, PUBLISH_API_KEYS: API_KEY });
    expect(config.production).toBe(true);
    expect(config.devMode).toBe(false);
  });

  it('AUTH_REQUIRE_EXP is on in production and off elsewhere unless set', () => {
    const production = { NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, PUBLISH_API_KEYS: API_KEY };
    expect(loadConfig(production).auth.requireExp).toBe(true);
    expect(loadConfig({ ...production, AUTH_REQUIRE_EXP: 'false' }).auth.requireExp).toBe(false);
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET }).auth.requireExp).toBe(false);
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_REQUIRE_EXP: 'true' }).auth.requireExp).toBe(true);
  });

  it('name → number tables find nothing for object keys (a token tier may be `constructor`)', () => {
    const { admission, actions } = loadConfig({ TIER_PRIORITIES: 'gold=1', ACTION_PRIORITIES: 'urgent=1' });
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      expect([admission.tierPriorities[key], actions.priorities[key]]).toEqual([undefined, undefined]);
  });
});

describe('REDIS_URL beyond its scheme', () => {
  it('a Sentinel URL without a master name is refused at start, saying what is missing', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379' })).toThrow(
      /Invalid configuration:\n {2}REDIS_URL redis\+sentinel:\/\/\*\*\*@s1:26379 names no master/,
    );
  });
});
