/**
 * Users the backend blocked, and times before which their tokens are revoked
 * (src/control/revocations.ts over Redis). Checked at hello — a resume's hello too —
 * and at a token refresh; live sessions are closed by the control orders
 * (src/control/), through their actors.
 */
import type { Principal } from '../principal.ts';

export type Revoked = 'USER_BLOCKED' | 'AUTH_TOKEN_REVOKED';

export interface RevocationList {
  /** Why this principal's token may not be used now; undefined when it may. */
  refusal(principal: Principal): Promise<Revoked | undefined>;
}
