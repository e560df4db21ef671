/** Verifies a client's token (src/auth/token-verifier.ts). */
import type { Principal } from '../principal.ts';

export interface TokenVerifier {
  /** The token's principal; rejects with a TetherError saying what is wrong with it. */
  verify(token: string | undefined): Promise<Principal>;
}
