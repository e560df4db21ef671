/**
 * src/config/config.ts: one validated schema read from the environment. A bad
 * value stops start-up with a message naming the variable and what is allowed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { COUNT_MAX, EnvSchema, TIMER_MAX_MS, TIMER_MAX_S } from '../../src/config/config-schema.ts';
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

interface NumericSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  enum?: number[];
  unit?: string;
}

/** Every numeric variable with its schema. */
const NUMERIC = Object.entries(EnvSchema.properties as Record<string, NumericSchema>).filter(
  ([, schema]) => schema.type === 'integer' || schema.type === 'number',
);

/** A pair's other side, so that one side set alone to an extreme contradicts nothing. */
const PARTNER: Record<string, string> = {
  SATURATE_EVENT_LOOP_LAG_MS: 'SHED_EVENT_LOOP_LAG_MS',
  SATURATE_HEAP_RATIO: 'SHED_HEAP_RATIO',
  SATURATE_BUFFERED_BYTES: 'SHED_BUFFERED_BYTES',
};

describe('numbers: decimal digits, finite, bounded', () => {
  it.each([
    '0x1ca6',
    '0b11',
    '0o17',
    '7.4e3',
    '1e3',
    '  7432  ',
    ' 7432',
    '+7432',
    '7_432',
    'Infinity',
    '-Infinity',
    '1e400',
    'NaN',
    '7432.0',
  ])('PORT=%j is refused, not read as a number', (value) => {
    const message = refusal({ PORT: value });
    expect(message).toContain(
      `PORT=${JSON.stringify(value)}: must be a whole number, written in decimal digits`,
    );
  });

  it.each(['1e-1', 'Infinity', '0x1', ' 0.5', '0,5', '.', '1.'])(
    'a ratio, SHED_BATCH_RATIO=%j, is refused',
    (value) => {
      expect(refusal({ SHED_BATCH_RATIO: value })).toContain(
        `SHED_BATCH_RATIO=${JSON.stringify(value)}: must be a number written in decimal digits`,
      );
    },
  );

  it('a ratio may be written with or without its leading 0', () => {
    expect(loadConfig({ SHED_BATCH_RATIO: '0.25' }).admission.shedBatchRatio).toBe(0.25);
    expect(loadConfig({ SHED_BATCH_RATIO: '.25' }).admission.shedBatchRatio).toBe(0.25);
  });

  it.each(NUMERIC.map(([name]) => name))(
    '%s refuses Infinity, -Infinity, 1e400 and NaN, naming the variable',
    (name) => {
      for (const value of ['Infinity', '-Infinity', '1e400', 'NaN']) {
        const message = refusal({ [name]: value });
        expect(message).toContain(`${name}=${JSON.stringify(value)}: must be`);
        expect(message).toContain('decimal digits');
      }
    },
  );

  it.each(NUMERIC.map(([name]) => name))(
    '%s refuses digits enough to overflow a double: past its maximum',
    (name) => {
      const huge = '9'.repeat(400); // Number() of it is Infinity
      expect(refusal({ [name]: huge })).toMatch(new RegExp(`${name}="9+": must be (at most|one of)`));
    },
  );

  it('every numeric variable has a maximum (or a list of values)', () => {
    for (const [name, schema] of NUMERIC)
      expect(Number.isFinite(schema.maximum) || Array.isArray(schema.enum), name).toBe(true);
  });

  it('every duration fits a Node timer: ms at most 2^31 − 1, seconds at most that in seconds', () => {
    expect(TIMER_MAX_MS).toBe(2_147_483_647);
    expect(TIMER_MAX_S).toBe(2_147_483);
    // A Redis TTL whose renewing timer runs every quarter of it.
    const ownMaximum = ['UNUSED_LOG_TTL_MS'];
    for (const [name, schema] of NUMERIC) {
      if (schema.unit === 'ms' && !ownMaximum.includes(name))
        expect(schema.maximum, name).toBeLessThanOrEqual(TIMER_MAX_MS);
      if (schema.unit === 'ms') expect(name, 'a ms duration is named …_MS').toMatch(/_MS$/);
      if (schema.unit === 's') expect(schema.maximum, name).toBeLessThanOrEqual(TIMER_MAX_S);
      if (/_MS$/.test(name)) expect(schema.unit, name).toBe('ms');
      if (/_S$/.test(name)) expect(schema.unit, name).toBe('s');
    }
    expect((EnvSchema.properties.UNUSED_LOG_TTL_MS as NumericSchema).maximum! / 4).toBeLessThan(TIMER_MAX_MS);
  });

  it('counts are at most COUNT_MAX, CHANNEL_RETENTION among them', () => {
    expect(COUNT_MAX).toBe(1_000_000_000);
    expect((EnvSchema.properties.CHANNEL_RETENTION as NumericSchema).maximum).toBe(COUNT_MAX);
    expect(refusal({ CHANNEL_RETENTION: '100000000000000000000' })).toContain(
      'CHANNEL_RETENTION="100000000000000000000": must be at most 1000000000',
    );
  });

  it.each(NUMERIC.filter(([, schema]) => !schema.enum).map(([name]) => name))(
    '%s: its maximum is accepted, one more is refused naming the maximum',
    (name) => {
      const schema = (EnvSchema.properties as Record<string, NumericSchema>)[name] as NumericSchema;
      const max = schema.maximum as number;
      const partner = PARTNER[name] ? { [PARTNER[name]]: String(max) } : {};
      expect(() => loadConfig({ [name]: String(max), ...partner })).not.toThrow();
      const over = schema.type === 'integer' ? String(max + 1) : String(max + 0.5);
      expect(refusal({ [name]: over, ...partner })).toContain(
        `${name}=${JSON.stringify(over)}: must be at most ${max}`,
      );
    },
  );

  it.each([
    ['SESSION_LEASE_MS', '3000000000'],
    ['DRAIN_TIMEOUT_MS', '3000000000'],
    ['RESOURCE_SAMPLE_MS', '3000000000'],
    ['RESUME_WINDOW_MS', '10000000000000000'],
    ['IDEMPOTENCY_WINDOW_MS', '100000000000000000000'],
    ['HANDSHAKE_TIMEOUT_MS', '3000000000'],
    ['ADMISSION_TIMEOUT_MS', '3000000000'],
    ['RATE_WINDOW_S', '3000000'],
  ])('%s=%s (past what a timer or Redis takes) is refused', (name, value) => {
    expect(refusal({ [name]: value })).toContain(`${name}="${value}": must be at most`);
  });

  it('every problem is reported at once: a malformed number beside a schema error', () => {
    const message = refusal({ PORT: '0x10', LOG_LEVEL: 'loud', RESUME_WINDOW_MS: '1e400' });
    expect(message).toContain('PORT="0x10"');
    expect(message).toContain('LOG_LEVEL="loud"');
    expect(message).toContain('RESUME_WINDOW_MS="1e400"');
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

describe('what a schema cannot say is checked at load too', () => {
  it.each([
    [{ HOST: 'not-an-ip.invalid' }, 'HOST="not-an-ip.invalid": not an IP address'],
    [{ HOST: '0.0.0.0 ' }, 'HOST="0.0.0.0 ": not an IP address'],
    [
      { TRUSTED_PROXIES: 'banana,10.0.0.0/99' },
      'TRUSTED_PROXIES: "banana" is not an IP address or CIDR range',
    ],
    [{ TRUSTED_PROXIES: 'banana,10.0.0.0/99' }, 'TRUSTED_PROXIES: "10.0.0.0/99" is not'],
    [{ TRUSTED_PROXIES: '10.0.0.0/+8' }, 'TRUSTED_PROXIES: "10.0.0.0/+8" is not'],
    [{ REDIS_URL: 'redis://127.0.0.1:99999' }, 'REDIS_URL redis://127.0.0.1:99999 is not a valid URL'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/abc' }, '"abc" is not a database number'],
    [{ REDIS_URL: 'redis+cluster://a:1,b:2/1' }, 'a Redis Cluster has only database 0'],
    [{ TIER_PRIORITIES: 'free=1,free=9' }, 'TIER_PRIORITIES="free=1,free=9": "free" is given twice'],
    [{ ACTION_PRIORITIES: 'default=5,a=1,a=2' }, 'ACTION_PRIORITIES="default=5,a=1,a=2": "a" is given twice'],
    [{ INSPECT: 'pool', INSPECT_PORT: '9000', PORT: '9000' }, 'INSPECT_PORT=9000 is PORT too'],
    [{ AUTH_JWKS_URL: 'https://exa mple/jwks' }, 'AUTH_JWKS_URL="https://exa mple/jwks": not a valid URL'],
    [{ NODE_ID: 'gw a' }, 'NODE_ID="gw a": not in the expected form'],
    [{ NODE_ID: 'gw\na' }, 'NODE_ID="gw\\na": not in the expected form'],
    [{ SHED_BATCH_RATIO: '0' }, 'SHED_BATCH_RATIO="0": must be above 0'],
  ])('%j', (env, expected) => {
    expect(refusal(env)).toContain(expected);
  });

  it('HOST takes IPv4 and IPv6 addresses and localhost', () => {
    for (const host of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'])
      expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('a REDIS_URL database number is read, and kept in the URL every connection uses', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/3' }).redisUrl).toBe('redis://127.0.0.1:6379/3');
  });

  it('PUBLISH_API_KEYS: each key is at least 16 characters, not the list as a whole', () => {
    const message = refusal({ PUBLISH_API_KEYS: `${API_KEY},b` });
    expect(message).toContain(
      'PUBLISH_API_KEYS=<hidden, 18 characters>: each key must be at least 16 characters (key 2 of 2 has 1)',
    );
    expect(message).not.toContain(API_KEY);
    expect(loadConfig({ PUBLISH_API_KEYS: `${API_KEY},${'j'.repeat(16)}` }).publishApiKeys).toHaveLength(2);
  });

  it('NODE_ENV=production with PUBLISH_API_KEYS that hold no key (only commas) is refused', () => {
    expect(refusal({ ...PRODUCTION, PUBLISH_API_KEYS: ',,,,' })).toContain(
      'PUBLISH_API_KEYS=<hidden, 4 characters>: holds no key, and NODE_ENV=production requires one',
    );
  });

  it('NODE_ENV is production, development or test, in lower case: Production is refused, not development', () => {
    for (const value of ['Production', 'PRODUCTION', 'prod', 'staging', ' production'])
      expect(refusal({ ...PRODUCTION, NODE_ENV: value })).toContain(
        `NODE_ENV=${JSON.stringify(value)}: must be one of production, development, test`,
      );
    expect(loadConfig({ NODE_ENV: 'test' }).production).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development' }).production).toBe(false);
  });

  it('reports the problems of every check at once', () => {
    const message = refusal({ HOST: 'nowhere', TRUSTED_PROXIES: 'banana', TIER_PRIORITIES: 'a=1,a=2' });
    expect(message.split('\n').slice(1)).toHaveLength(3);
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

  it('a threshold of 0 is off: a pair with either side off has no order to keep', () => {
    for (const [low, high, value] of [
      ['SATURATE_EVENT_LOOP_LAG_MS', 'SHED_EVENT_LOOP_LAG_MS', '600'],
      ['SATURATE_HEAP_RATIO', 'SHED_HEAP_RATIO', '0.5'],
      ['SATURATE_BUFFERED_BYTES', 'SHED_BUFFERED_BYTES', '2000'],
    ] as const) {
      expect(() => loadConfig({ [low]: value, [high]: '0' }), `${low}=${value} ${high}=0`).not.toThrow();
      expect(() => loadConfig({ [low]: '0', [high]: value }), `${low}=0 ${high}=${value}`).not.toThrow();
    }
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

describe('REDIS_URL beyond its scheme', () => {
  it('a Sentinel URL without a master name is refused at start, saying what is missing', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379' })).toThrow(
      /Invalid configuration:\n {2}REDIS_URL redis\+sentinel:\/\/:\*\*\*@s1:26379 names no master/,
    );
  });
});
