/**
 * The credentials a chaos run hands its gateways and clients: a production-mode
 * configuration (HS256 client tokens, publish API key), and tokens minted with jose.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

export const CHAOS_SECRET = `chaos-${randomBytes(24).toString('hex')}`;
export const CHAOS_API_KEY = `chaos-key-${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `chaos-admin-${randomBytes(12).toString('hex')}`;

/**
 * The environment of a gateway under test: production mode, everything on 127.0.0.1.
 * Every client of a run comes from 127.0.0.1, so the per-IP connect rate is turned off
 * (in the field they come from many addresses), and a shared 2-core box lags the event
 * loop past the shedding thresholds, which would shed clients for reasons that are not
 * the fault under test. Everything else keeps its production default.
 */
export function gatewayEnv(
  redisUrl: string,
  port: number,
  prefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    AUTH_JWT_SECRET: CHAOS_SECRET,
    PUBLISH_API_KEYS: CHAOS_API_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'info',
    RATE_CONNECT_PER_IP: '0',
    SATURATE_EVENT_LOOP_LAG_MS: '60000',
    SHED_EVENT_LOOP_LAG_MS: '60000',
    ...overrides,
  };
}

/** A key prefix of its own per scenario: the gateways of one scenario share it. */
export const newPrefix = () => `chaos${randomBytes(3).toString('hex')}`;

export function mintToken(
  sub: string,
  channels: string[] = ['*'],
  publish: string[] = ['*'],
): Promise<string> {
  return new SignJWT({ channels, publish, actions: ['*'], tier: 'standard' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(CHAOS_SECRET));
}
