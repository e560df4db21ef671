/**
 * The token for the next socket: the fixed `token`, or what `getToken()` gives now.
 * A failure becomes a TetherClientError the client machine classifies: the hook's own
 * coded error stands (the application's verdict, e.g. AUTH_INVALID_TOKEN: not retried);
 * anything else — a throw, or a result that is not a non-empty string — is TOKEN_UNAVAILABLE, which the machine checks against the gateway's
 * readiness before blaming the token source.
 */
import type { ResolvedOptions } from './client-options.ts';
import { TetherClientError } from './tether-client-error.ts';

export async function fetchToken(
  options: Pick<ResolvedOptions, 'token' | 'getToken'>,
): Promise<string | undefined> {
  if (!options.getToken) return options.token;
  try {
    const token: unknown = await options.getToken();
    // Anything but a token string would reach the gateway only to be refused (MALFORMED_MESSAGE).
    if (typeof token !== 'string' || token === '')
      throw new Error(`getToken() returned ${token === '' ? 'an empty string' : typeof token}, not a token`);
    return token;
  } catch (error) {
    if (error instanceof TetherClientError) throw error;
    throw new TetherClientError('TOKEN_UNAVAILABLE', { cause: error, detail: (error as Error).message });
  }
}
