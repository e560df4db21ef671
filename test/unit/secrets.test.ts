import { describe, expect, it } from 'vitest';
import { isSecretKey, REDACTED, redactSecrets } from '../../src/observability/secrets.ts';

describe('what counts as a secret in logs and inspected contexts', () => {
  it.each([
    'token',
    'resumeToken',
    'refreshToken',
    'apiKey',
    'x-api-key',
    'publishApiKeys',
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'jwtSecret',
    'password',
    'passwd',
    'privateKey',
  ])('%s is a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'tokenExpiresAt',
    'tokenIssuedAt',
    'tokensRevokedBefore',
    'refreshTokenInMs',
    'token_expires_at',
    'userId',
    'channel',
  ])('%s is not: it names a time, a count or nothing secret', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it("an actor context keeps its token's times, not the token", () => {
    const context = {
      userId: 'u',
      token: 'eyJ…',
      tokenExpiresAt: 1_700_000_000_000,
      tokenIssuedAt: 1_699_999_000_000,
    };
    expect(redactSecrets(context)).toEqual({
      userId: 'u',
      token: REDACTED,
      tokenExpiresAt: 1_700_000_000_000,
      tokenIssuedAt: 1_699_999_000_000,
    });
  });
});
