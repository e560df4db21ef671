/**
 * A PEM public key for client tokens (AUTH_JWT_PUBLIC_KEY), and the JWS algorithms
 * it may verify. The algorithms follow from the key itself, so an ES256 key is never
 * asked to verify RS256 and an HS256 token can never be checked against a public
 * key used as a secret (the classic algorithm-confusion attack).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

/** Every algorithm a public key or a JWKS endpoint may sign client tokens with. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export interface VerificationKey {
  key: KeyObject;
  /** The JWS `alg` values this key verifies. */
  algorithms: string[];
}

/** The kinds of key accepted, for messages. */
export const SUPPORTED_KEYS =
  'RSA ≥ 2048 bits (RS256, PS256), EC P-256 (ES256), P-384 (ES384), P-521 (ES512), Ed25519 (EdDSA)';

const EC_ALGORITHMS: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

export class PublicKeyError extends Error {
  override name = 'PublicKeyError';
}

/**
 * An env var often holds a PEM with its line breaks written as `\n`; accept that
 * form as well as real line breaks.
 */
export function normalizePem(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

/** Parse a PEM (SPKI or X.509 certificate) public key; throws PublicKeyError saying what is wrong. */
export function parsePublicKey(pem: string): VerificationKey {
  const text = normalizePem(pem);
  // createPublicKey would derive the public half; a private key has no business in this config.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new PublicKeyError(
      'a private key; give the public key (SPKI PEM) only, and keep the private one secret',
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new PublicKeyError(
      `not a PEM public key (${(error as Error).message}); expected "-----BEGIN PUBLIC KEY-----" … (SPKI)`,
      { cause: error },
    );
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // jose refuses RSA keys under 2048 bits at verify time (RFC 7518 §3.3): say so now.
      if ((details.modulusLength ?? 0) < 2048)
        throw new PublicKeyError(`an RSA key of ${details.modulusLength} bits; at least 2048 are required`);
      return { key, algorithms: ['RS256', 'PS256'] };
    case 'ec': {
      const algorithm = EC_ALGORITHMS[details.namedCurve ?? ''];
      if (!algorithm)
        throw new PublicKeyError(`an EC key on curve ${details.namedCurve}; supported: ${SUPPORTED_KEYS}`);
      return { key, algorithms: [algorithm] };
    }
    case 'ed25519':
      return { key, algorithms: ['EdDSA'] };
    default:
      throw new PublicKeyError(`a ${key.asymmetricKeyType} key; supported: ${SUPPORTED_KEYS}`);
  }
}
