/**
 * `tether token --sub alice --channels 'room:*'`: a client token, for development and
 * operations. Signed with AUTH_JWT_SECRET when set (with AUTH_ISSUER / AUTH_AUDIENCE,
 * so the gateway accepts it); in development mode with the secret the gateways share
 * through Redis (src/auth/dev-secret.ts), read from the Redis the gateway uses: REDIS_URL
 * (any form, through the gateway's own connection factory), else 127.0.0.1:6379, else
 * the private redis-server of the gateway serving REDIS_DATA_DIR. A gateway configured
 * with a public key or JWKS verifies tokens it cannot sign: there the issuer of those
 * tokens mints them.
 */
import { sharedDevSecret } from '../auth/dev-secret.ts';
import { DevTokenRefusal, devTokenClaims } from '../auth/dev-token-claims.ts';
import { type DevTokenClaims, hmacKey, signToken } from '../auth/token-verifier.ts';
import { type Config, DECIMAL } from '../config/config.ts';
import { EMBEDDED, redisAnswers } from '../redis/embedded-redis.ts';
import { servingPort } from '../redis/redis-data-dir.ts';
import { createRedisClient, parseRedisUrl, redact } from '../redis/redis-target.ts';
import { commandHelp, configOrReport, EXIT_USAGE, parseOptions, UsageError } from './cli-options.ts';
import { MAX_TOKEN_TTL_S } from './usage.ts';

const OPTIONS = {
  sub: { type: 'string' },
  channels: { type: 'string' },
  publish: { type: 'string' },
  actions: { type: 'string' },
  tier: { type: 'string' },
  ttl: { type: 'string' },
} as const;

/** How long reading the development secret may take before the command gives up, ms. */
const REDIS_WITHIN_MS = 5000;

export async function tokenCommand(args: string[]): Promise<number> {
  const values = parseOptions(args, OPTIONS);
  if (commandHelp('token', values)) return 0;
  const ttlS = values.ttl === undefined ? undefined : ttlSeconds(values.ttl);
  const config = configOrReport();
  if (!config) return EXIT_USAGE;
  const secret = await signingSecret(config);
  if (typeof secret === 'string') {
    process.stderr.write(`tether: ${secret}\n`);
    return 1;
  }
  let claims: DevTokenClaims & { ttlS?: number };
  try {
    claims = { ...devTokenClaims((name) => values[name as keyof typeof values] as string), ttlS };
  } catch (error) {
    if (error instanceof DevTokenRefusal) throw new UsageError(`--${error.message}`);
    throw error;
  }
  process.stdout.write(`${await signToken(await hmacKey(secret), claims, config.auth)}\n`);
  return 0;
}

/** `--ttl`: decimal digits, as every number the configuration reads (src/config/config.ts). */
function ttlSeconds(text: string): number {
  const ttl = DECIMAL.integer.test(text) ? Number(text) : Number.NaN;
  if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_S))
    throw new UsageError(
      `--ttl ${text}: a whole number of seconds in decimal digits, 1–${MAX_TOKEN_TTL_S} (ten years), e.g. --ttl 3600`,
    );
  return ttl;
}

/** The HS256 secret, or why there is none to sign with. */
async function signingSecret(config: Config): Promise<Uint8Array | string> {
  if (config.auth.hs256Secret) return new TextEncoder().encode(config.auth.hs256Secret);
  if (!config.devMode)
    return 'the gateway verifies tokens with a public key (AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL): only the holder of the private key can mint them.';
  const url = await devRedisUrl(config);
  if (!url) {
    const which =
      config.redisUrl === EMBEDDED
        ? 'REDIS_URL=embedded names'
        : 'REDIS_URL is unset and nothing answers on 127.0.0.1:6379, which leaves';
    return `development mode keeps its secret in Redis, and ${which} the private redis-server of a running gateway, found through its REDIS_DATA_DIR (${config.redisDataDir}): no gateway runs on it. Start one (\`tether start\`) from this folder, set REDIS_URL to the Redis your gateways use, or ask a running gateway: GET /dev/token?sub=…`;
  }
  const redis = createRedisClient(parseRedisUrl(url), {
    lazyConnect: true,
    connectionName: 'tether:token',
    maxRetriesPerRequest: 1,
    retryStrategy: () => null, // one attempt: a command, not a service
  });
  // Reported below, once, not as "[ioredis] Unhandled error event"; its cause (ECONNREFUSED…)
  // says more than connect()'s own "Connection is closed".
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_WITHIN_MS} ms`)), REDIS_WITHIN_MS);
    });
    return await Promise.race([redis.connect().then(() => sharedDevSecret(redis, config.redisPrefix)), late]);
  } catch (error) {
    const { message } = error as Error;
    const why = cause && cause.message !== message ? `${message} (${cause.message})` : message;
    return `cannot read the development secret from ${redact(url)}: ${why}`;
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** The Redis the development-mode gateway uses (src/redis/embedded-redis.ts resolveRedis), found without starting one. */
async function devRedisUrl(config: Config): Promise<string | undefined> {
  if (config.redisUrl && config.redisUrl !== EMBEDDED) return config.redisUrl;
  if (!config.redisUrl && (await redisAnswers('127.0.0.1', 6379))) return 'redis://127.0.0.1:6379';
  const port = servingPort(config.redisDataDir);
  return port === undefined ? undefined : `redis://127.0.0.1:${port}`;
}
