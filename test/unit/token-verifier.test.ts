/**
 * createTokenVerifier (src/auth/token-verifier.ts) on what both of its paths — the HS256
 * fast path and jose — would take: claims that parse but hold no date a clock can reach.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, IAT_AHEAD_TOLERANCE_S } from '../../src/auth/token-verifier.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Signed claims written as raw JSON text: JSON.stringify cannot write 1e400. */
function tokenOf(claimsJson: string, header = '{"alg":"HS256","typ":"JWT"}'): string {
  const input = `${b64(header)}.${b64(claimsJson)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

describe('a token whose dates overflow to Infinity', () => {
  const nowS = Math.floor(Date.now() / 1000);
  it.each([
    ['exp', `{"sub":"alice","exp":1e400}`],
    ['iat', `{"sub":"alice","iat":1e400,"exp":${nowS + 60}}`],
    ['nbf', `{"sub":"alice","nbf":-1e400,"exp":${nowS + 60}}`],
  ])('%s: refused as AUTH_INVALID_TOKEN on both paths, never a token for ever', async (claim, claims) => {
    const verifier = await createTokenVerifier({ requireExp: true, hs256Secret: SECRET }, false);
    // The second header is one the fast path leaves to jose (src/auth/hs256.ts).
    for (const header of ['{"alg":"HS256","typ":"JWT"}', '{"alg":"HS256","kid":"k1"}'])
      await expect(verifier.verify(tokenOf(claims, header))).rejects.toMatchObject({
        code: 'AUTH_INVALID_TOKEN',
        detail: `token ${claim} is not a finite NumericDate`,
      });
  });

  it('a far but finite exp is a date like any other', async () => {
    const verifier = await createTokenVerifier({ requireExp: true, hs256Secret: SECRET }, false);
    const principal = await verifier.verify(tokenOf('{"sub":"alice","exp":32503680000}')); // year 3000
    expect(principal.expiresAt).toBe(32_503_680_000_000);
  });
});

describe('a token issued in the future', () => {
  const headers = ['{"alg":"HS256","typ":"JWT"}', '{"alg":"HS256","kid":"k1"}']; // fast path, jose
  const nowS = () => Math.floor(Date.now() / 1000);

  it('past the tolerance: AUTH_INVALID_TOKEN on both paths, so it cannot outlive a revocation made before its iat', async () => {
    const verifier = await createTokenVerifier({ requireExp: true, hs256Secret: SECRET }, false);
    for (const header of headers) {
      const claims = `{"sub":"alice","iat":${nowS() + 3600},"exp":${nowS() + 7200}}`;
      const refused = await verifier.verify(tokenOf(claims, header)).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      const ahead = /^token iat is (\d+) s in the future/.exec((refused as { detail: string }).detail)?.[1];
      expect(Number(ahead)).toBeGreaterThan(3590);
      expect(Number(ahead)).toBeLessThanOrEqual(3600);
    }
  });

  it('within it (an issuer whose clock runs a little ahead): accepted', async () => {
    const verifier = await createTokenVerifier({ requireExp: true, hs256Secret: SECRET }, false);
    for (const header of headers) {
      const iat = nowS() + IAT_AHEAD_TOLERANCE_S - 5;
      const principal = await verifier.verify(
        tokenOf(`{"sub":"alice","iat":${iat},"exp":${nowS() + 600}}`, header),
      );
      expect(principal.issuedAt).toBe(iat * 1000);
    }
  });
});
