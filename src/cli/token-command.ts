/**
 * `tether token --sub alice --channels 'room:*'`: a client token, for development and
 * operations. Signed with AUTH_JWT_SECRET when set (with AUTH_ISSUER / AUTH_AUDIENCE,
 * so the gateway accepts it); in development mode with the secret the gateways share
 * through Redis (src/auth/dev-secret.ts), read from REDIS_URL or 127.0.0.1:6379. A
 * gateway configured with a public key or JWKS verifies tokens it cannot sign: there
 * the issuer of those tokens mints them.
 */
import { Redis } from 'ioredis';
import { sharedDevSecret } from '../auth/dev-secret.ts';
import { DevTokenRefusal, devTokenClaims } from '../auth/dev-token-claims.ts';
import { type DevTokenClaims, hmacKey, signToken } from '../auth/token-verifier.ts';
import type { Config } from '../config/config.ts';
import { redact } from '../config/redis-url.ts';
import { redisAnswers } from '../redis/embedded-redis.ts';
import { configOrReport, EXIT_USAGE, parseOptions, UsageError } from './cli-options.ts';

const OPTIONS = {
  sub: { type: 'string' },
  channels: { type: 'string' },
  publish: { type: 'string' },
  actions: { type: 'string' },
  tier: { type: 'string' },
  ttl: { type: 'string' },
} as const;

export async function tokenCommand(args: string[]): Promise<number> {
  const values = parseOptions(args, OPTIONS);
  const ttlS = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttlS !== undefined && !(Number.isInteger(ttlS) && ttlS > 0))
    throw new UsageError(`--ttl ${values.ttl}: a whole number of seconds above 0, e.g. --ttl 3600`);
  const config = configOrReport();
  if (!config) return EXIT_USAGE;
  const secret = await signingSecret(config);
  if (typeof secret === 'string') {
    process.stderr.write(`tether: ${secret}\n`);
    return 1;
  }
  let claims: DevTokenClaims & { ttlS?: number };
  try {
    claims = { ...devTokenClaims((name) => values[name as keyof typeof values]), ttlS };
  } catch (error) {
    if (error instanceof DevTokenRefusal) throw new UsageError(`--${error.message}`);
    throw error;
  }
  process.stdout.write(`${await signToken(await hmacKey(secret), claims, config.auth)}\n`);
  return 0;
}

/** The HS256 secret, or why there is none to sign with. */
async function signingSecret(config: Config): Promise<Uint8Array | string> {
  if (config.auth.hs256Secret) return new TextEncoder().encode(config.auth.hs256Secret);
  if (!config.devMode)
    return 'the gateway verifies tokens with a public key (AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL): only the holder of the private key can mint them.';
  const url = config.redisUrl ?? 'redis://127.0.0.1:6379';
  if (!config.redisUrl && !(await redisAnswers('127.0.0.1', 6379)))
    return 'development mode keeps its secret in Redis, and REDIS_URL is unset with nothing on 127.0.0.1:6379 (an embedded Redis is private to its gateway): ask the running gateway instead, GET /dev/token?sub=…';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await sharedDevSecret(redis, config.redisPrefix);
  } catch (error) {
    return `cannot read the development secret from ${redact(url)}: ${(error as Error).message}`;
  } finally {
    redis.disconnect();
  }
}
