/**
 * acceptHs256 (src/auth/hs256.ts) against jose's jwtVerify, token by token and option by
 * option: what the fast path accepts, jose accepts with the same claims; the common valid
 * token is accepted by the fast path (else the gateway silently pays for WebCrypto again);
 * everything else it leaves to jose.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { acceptHs256, type Hs256Checks } from '../../src/auth/hs256.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = createSecretKey(Buffer.from(SECRET));
const now = 1_800_000_000;

const seg = (value: unknown) =>
  (value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(JSON.stringify(value))).toString(
    'base64url',
  );
const mac = (input: string, secret = SECRET, hash = 'sha256') =>
  createHmac(hash, secret).update(input).digest('base64url');
const signed = (header: string, payload: string, secret = SECRET, hash = 'sha256') =>
  `${header}.${payload}.${mac(`${header}.${payload}`, secret, hash)}`;
const token = (claims: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }) =>
  signed(seg(header), seg(claims));

const valid = { sub: 'alice', iat: now - 10, exp: now + 60, channels: ['*'] };

/** Tokens the fast path must accept under the plain options (the hello of every client). */
const common: Record<string, string> = {
  'sub, iat, exp': token(valid),
  'no typ': token(valid, { alg: 'HS256' }),
  'nbf now': token({ ...valid, nbf: now }),
  'a __proto__ claim': signed(
    seg({ alg: 'HS256' }),
    Buffer.from('{"sub":"a","exp":1800000060,"__proto__":{"x":1}}').toString('base64url'),
  ),
};

const tampered = (() => {
  const [h, , s] = token(valid).split('.');
  return `${h}.${seg({ ...valid, sub: 'mallory' })}.${s}`;
})();

/** Everything else: jose decides (accepts or refuses), the fast path may only agree. */
const others: Record<string, string> = {
  expired: token({ ...valid, exp: now }),
  'expired long ago': token({ ...valid, exp: now - 3600 }),
  'not yet valid': token({ ...valid, nbf: now + 5 }),
  'iat a string': token({ ...valid, iat: 'yesterday' }),
  'exp a string': token({ ...valid, exp: String(now + 60) }),
  'nbf null': token({ ...valid, nbf: null }),
  'no exp': token({ sub: 'alice' }),
  'wrong secret': signed(seg({ alg: 'HS256' }), seg(valid), 'another-secret-that-is-long-enough-0123'),
  tampered,
  'alg none': `${seg({ alg: 'none' })}.${seg(valid)}.`,
  'alg HS512': signed(seg({ alg: 'HS512' }), seg(valid), SECRET, 'sha512'),
  'alg HS256 signed with SHA-512': signed(seg({ alg: 'HS256' }), seg(valid), SECRET, 'sha512'),
  'crit header': token(valid, { alg: 'HS256', crit: ['exp'] }),
  'b64 false': token(valid, { alg: 'HS256', b64: false, crit: ['b64'] }),
  'header an array': token(valid, ['HS256']),
  'claims an array': token([valid]),
  'claims a string': token('alice'),
  'claims not JSON': signed(seg({ alg: 'HS256' }), Buffer.from('{sub:').toString('base64url')),
  'claims not UTF-8': signed(seg({ alg: 'HS256' }), seg(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))),
  'padded signature': `${token(valid)}=`,
  'four parts': `${token(valid)}.x`,
  'two parts': token(valid).split('.').slice(0, 2).join('.'),
  'bad characters': token(valid).replace('.', '.*'),
  empty: '',
  'iss and aud right': token({ ...valid, iss: 'https://issuer', aud: 'tether' }),
  'aud in a list': token({ ...valid, iss: 'https://issuer', aud: ['other', 'tether'] }),
  'aud wrong': token({ ...valid, iss: 'https://issuer', aud: 'other' }),
  'aud a number': token({ ...valid, iss: 'https://issuer', aud: 7 }),
  'iss wrong': token({ ...valid, iss: 'https://elsewhere', aud: 'tether' }),
  'no iss': token({ ...valid, aud: 'tether' }),
};

const OPTIONS: Record<string, Hs256Checks> = {
  plain: { requiredClaims: [] },
  'exp required': { requiredClaims: ['exp'] },
  'issuer and audience': { issuer: 'https://issuer', audience: 'tether', requiredClaims: ['exp'] },
};

async function jose(jwt: string, checks: Hs256Checks) {
  return jwtVerify(jwt, new TextEncoder().encode(SECRET), {
    algorithms: ['HS256'],
    ...checks,
    currentDate: new Date(now * 1000),
  }).then(
    (r) => r.payload,
    () => undefined,
  );
}

describe('acceptHs256 agrees with jose', () => {
  for (const [option, checks] of Object.entries(OPTIONS))
    for (const [name, jwt] of Object.entries({ ...common, ...others }))
      it(`${name} (${option}): accepted only where jose accepts, with the same claims`, async () => {
        const fast = acceptHs256(jwt, key, checks, now);
        const slow = await jose(jwt, checks);
        if (fast !== undefined) expect(fast).toEqual(slow);
        if (fast !== undefined) expect(slow).toBeDefined();
      });

  for (const [name, jwt] of Object.entries(common))
    it(`accepts the common token itself: ${name}`, async () => {
      expect(await jose(jwt, OPTIONS.plain as Hs256Checks)).toBeDefined();
      expect(acceptHs256(jwt, key, { requiredClaims: ['exp'] }, now)).toMatchObject({
        sub: expect.any(String),
      });
    });

  it('accepts a token with the configured issuer and audience', () => {
    expect(
      acceptHs256(others['aud in a list'] as string, key, OPTIONS['issuer and audience'] as Hs256Checks, now),
    ).toMatchObject({ sub: 'alice' });
  });

  it('leaves expired, tampered and foreign-algorithm tokens to jose', () => {
    for (const name of ['expired', 'tampered', 'wrong secret', 'alg none', 'alg HS512', 'not yet valid'])
      expect(
        acceptHs256(others[name] as string, key, OPTIONS.plain as Hs256Checks, now),
        name,
      ).toBeUndefined();
  });
});
