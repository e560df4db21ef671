/**
 * The common HS256 token accepted synchronously with node:crypto, before jose is asked.
 *
 * jose 6 verifies through WebCrypto: ~70 µs of CPU per token here, and a trip through the
 * libuv thread pool on every hello; node:crypto's HMAC takes ~5 µs. This only ACCEPTS: it
 * returns the claims when jose's `jwtVerify` would accept the token with the same options
 * (its exact checks for them: node_modules/jose/dist/webapi/lib/jwt_claims_set.js), and
 * undefined for anything else — a bad signature, an expired token, an unusual header — so
 * jose still gives every refusal and its error. A differential test holds the two together
 * (test/unit/hs256.test.ts).
 */
import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';

export interface Hs256Checks {
  issuer?: string;
  audience?: string;
  requiredClaims: string[];
}

/** A base64url segment without padding: anything else is left to jose's decoder. */
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** jose decodes the claims strictly: invalid UTF-8 is refused, not replaced. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The token's claims when it is a valid HS256 JWT under `secret` passing `checks` now; else undefined. */
export function acceptHs256(
  token: string,
  secret: KeyObject,
  checks: Hs256Checks,
  nowS = Math.floor(Date.now() / 1000),
): JWTPayload | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  if (!SEGMENT.test(header) || !SEGMENT.test(payload) || !SEGMENT.test(signature)) return undefined;
  // The canonical encoding of the right MAC, compared in constant time.
  const expected = Buffer.from(
    createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url'),
  );
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;

  const protectedHeader = parseObject(header);
  // `crit` and `b64` change how jose reads the token: its call.
  if (protectedHeader?.alg !== 'HS256' || 'crit' in protectedHeader || 'b64' in protectedHeader)
    return undefined;
  const claims = parseObject(payload) as JWTPayload | undefined;
  if (!claims) return undefined;
  const required = [...checks.requiredClaims];
  if (checks.audience !== undefined) required.push('aud');
  if (checks.issuer !== undefined) required.push('iss');
  if (!required.every((claim) => Object.hasOwn(claims, claim))) return undefined;
  if (checks.issuer !== undefined && claims.iss !== checks.issuer) return undefined;
  if (checks.audience !== undefined && !hasAudience(claims.aud, checks.audience)) return undefined;
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== 'number') return undefined;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowS)) return undefined;
  if (exp !== undefined && (typeof exp !== 'number' || exp <= nowS)) return undefined;
  return claims;
}

function parseObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
    // A plain object, as jose's isObject: not an array, not null.
    return Object.prototype.toString.call(value) === '[object Object]'
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function hasAudience(aud: unknown, audience: string): boolean {
  if (typeof aud === 'string') return aud === audience;
  return Array.isArray(aud) && aud.includes(audience);
}
