/**
 * Verifies client JWTs with `jose`: HS256 with a shared secret, or a public key
 * (AUTH_JWT_PUBLIC_KEY: the algorithms follow from the key, src/auth/public-key.ts)
 * or a JWKS endpoint (keys cached and rotated by jose). In development mode tokens
 * are signed with a secret shared through Redis (src/auth/dev-secret.ts) and can be
 * minted.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { AuthConfig } from '../config/config.ts';
import type { TokenVerifier } from '../core/ports/token-verifier.ts';
import type { Principal } from '../core/principal.ts';
import { TetherError } from '../core/tether-error.ts';
import type { RedisConnection } from '../redis/redis-target.ts';
import { userIdProblem } from '../shared/identifiers.ts';
import { sharedDevSecret } from './dev-secret.ts';
import { acceptHs256 } from './hs256.ts';
import { ASYMMETRIC_ALGORITHMS, parsePublicKey } from './public-key.ts';

type Key = Parameters<typeof jwtVerify>[1];

/** The core's TokenVerifier port over JWTs, able to mint tokens in development mode. */
export interface JwtVerifier extends TokenVerifier {
  /** Development mode only: mint a token. */
  mint?: (claims: DevTokenClaims) => Promise<string>;
}

/** What a development token grants; every list defaults to everything (`*`). */
export interface DevTokenClaims {
  sub: string;
  channels?: string[];
  publish?: string[];
  actions?: string[];
  /** @defaultValue 'standard' */
  tier?: string;
  /** Lifetime in seconds. @defaultValue 86400 */
  ttlS?: number;
}

/** Where development mode keeps its signing secret, shared by every process on it. */
export interface DevSecretSource {
  redis: RedisConnection;
  /** The key prefix (REDIS_PREFIX). */
  prefix: string;
}

/** How far in the future a token's `iat` may be, in seconds: clocks drift. */
export const IAT_AHEAD_TOLERANCE_S = 60;

interface KeyChoice {
  key: Key;
  algorithms: string[];
}

/**
 * @param devSecrets - development mode only: without it the secret is random per
 *   process, so a token (and a resume) does not survive a restart.
 */
export async function createTokenVerifier(
  auth: AuthConfig,
  devMode: boolean,
  devSecrets?: DevSecretSource,
): Promise<JwtVerifier> {
  const devSecret = devMode
    ? devSecrets
      ? await sharedDevSecret(devSecrets.redis, devSecrets.prefix)
      : new TextEncoder().encode(randomBytes(32).toString('hex'))
    : undefined;
  const { key, algorithms } = devSecret
    ? { key: await hmacKey(devSecret), algorithms: ['HS256'] }
    : await chooseKey(auth);
  const checks = {
    issuer: auth.issuer,
    audience: auth.audience,
    requiredClaims: auth.requireExp ? ['exp'] : [],
  };
  // A shared secret: the common token is accepted without WebCrypto (src/auth/hs256.ts).
  const secretBytes =
    devSecret ?? (auth.hs256Secret ? new TextEncoder().encode(auth.hs256Secret) : undefined);
  const hs256 = secretBytes ? createSecretKey(secretBytes) : undefined;

  const verify = async (token: string | undefined): Promise<Principal> => {
    if (!token) throw new TetherError('AUTH_INVALID_TOKEN', { detail: 'hello carried no token' });
    let payload: JWTPayload;
    try {
      payload =
        (hs256 && acceptHs256(token, hs256, checks)) ??
        (await jwtVerify(token, key, { algorithms, ...checks })).payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TetherError('AUTH_TOKEN_EXPIRED', { cause: error });
      // Only a token without exp is AUTH_REQUIRE_EXP's doing: a malformed one keeps jose's message.
      const missingExp =
        error instanceof errors.JWTClaimValidationFailed &&
        error.claim === 'exp' &&
        error.reason === 'missing';
      throw new TetherError('AUTH_INVALID_TOKEN', {
        cause: error,
        detail: missingExp ? 'token has no exp claim (AUTH_REQUIRE_EXP)' : (error as Error).message,
      });
    }
    // JSON.parse reads 1e400 as Infinity, which jose and the fast path both take as a date: a
    // token that never expires, issued after any revocation. No clock can hold it.
    for (const claim of ['exp', 'iat', 'nbf'] as const) {
      const value = payload[claim];
      if (value !== undefined && !Number.isFinite(value))
        throw new TetherError('AUTH_INVALID_TOKEN', { detail: `token ${claim} is not a finite NumericDate` });
    }
    // Revocations refuse tokens issued before a time (src/control/revocations.ts): a token
    // issued in the future would outlive each one made before its iat. An issuer's clock a
    // little ahead of ours is tolerated; one further ahead is said, not trusted.
    const aheadS = typeof payload.iat === 'number' ? payload.iat - Date.now() / 1000 : 0;
    if (aheadS > IAT_AHEAD_TOLERANCE_S)
      throw new TetherError('AUTH_INVALID_TOKEN', {
        detail: `token iat is ${Math.round(aheadS)} s in the future (the issuer's clock may be ahead; at most ${IAT_AHEAD_TOLERANCE_S} s is accepted)`,
      });
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new TetherError('AUTH_INVALID_TOKEN', { detail: 'token has no sub claim' });
    }
    // A user the control routes could not name (list, block, revoke) must not get a session.
    const subProblem = userIdProblem(payload.sub);
    if (subProblem) throw new TetherError('AUTH_INVALID_TOKEN', { detail: `token sub: ${subProblem}` });
    return {
      userId: payload.sub,
      channels: stringList(payload.channels),
      publish: stringList(payload.publish),
      actions: stringList(payload.actions),
      tier: typeof payload.tier === 'string' && payload.tier !== '' ? payload.tier : 'standard',
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
      issuedAt: typeof payload.iat === 'number' ? payload.iat * 1000 : undefined,
    };
  };

  if (!devSecret) return { verify };
  return { verify, mint: (claims) => signToken(key as CryptoKey, claims, auth) };
}

/**
 * A token for `claims`, HS256 with `key`, carrying the issuer and audience the
 * gateway checks (AUTH_ISSUER, AUTH_AUDIENCE). Minted by development mode and by
 * `tether token` (src/cli/token-command.ts).
 */
export function signToken(key: CryptoKey, claims: DevTokenClaims, auth: AuthConfig): Promise<string> {
  const jwt = new SignJWT({
    channels: claims.channels ?? ['*'],
    publish: claims.publish ?? ['*'],
    actions: claims.actions ?? ['*'],
    tier: claims.tier ?? 'standard',
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlS ?? 86_400}s`);
  if (auth.issuer) jwt.setIssuer(auth.issuer);
  if (auth.audience) jwt.setAudience(auth.audience);
  return jwt.sign(key);
}

/**
 * An HMAC secret imported once: given raw bytes, jose imports them into WebCrypto
 * again on every verify (~6% of the CPU of a connect, bench connect-cost).
 */
export function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

async function chooseKey(auth: AuthConfig): Promise<KeyChoice> {
  if (auth.hs256Secret)
    return { key: await hmacKey(new TextEncoder().encode(auth.hs256Secret)), algorithms: ['HS256'] };
  // loadConfig already validated the PEM, naming AUTH_JWT_PUBLIC_KEY when it is wrong.
  if (auth.publicKeyPem) return parsePublicKey(auth.publicKeyPem);
  if (auth.jwksUrl)
    return { key: createRemoteJWKSet(new URL(auth.jwksUrl)), algorithms: [...ASYMMETRIC_ALGORITHMS] };
  throw new Error('no auth configured and not in development mode');
}

// The principal lives as long as its connection: its lists are the token's own arrays (sized
// by JSON.parse), not filtered copies (~180 bytes each), and the commonest are shared. Read only.
const NO_PATTERNS = Object.freeze([]) as readonly string[] as string[];
const EVERY_PATTERN = Object.freeze(['*']) as readonly string[] as string[];
const isString = (v: unknown): v is string => typeof v === 'string';

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return NO_PATTERNS;
  const list = value.every(isString) ? value : value.filter(isString);
  if (list.length === 0) return NO_PATTERNS;
  return list.length === 1 && list[0] === '*' ? EVERY_PATTERN : list;
}
