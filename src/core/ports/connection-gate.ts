/**
 * The limits a hello passes on its way in (src/limits/connection-limits.ts). Each
 * check rejects with a TetherError carrying the limit's code and retry hint. The
 * per-IP attempt check at open and the release of slots at close hang off the
 * connection lifecycle (src/core/lifecycle.ts) instead.
 */
import type { Connection } from '../connection.ts';
import type { Principal } from '../principal.ts';

export interface ConnectionGate {
  /** Before verifying a token: the IP's attempt budget and its failed-auth budget. */
  beforeAuth(conn: Connection): Promise<void>;
  /** A token failed: how long to stall before answering (progressive delay), ms. */
  authFailed(conn: Connection): Promise<number>;
  /** After a good token: the user's attempt budget and the concurrency slots. */
  afterAuth(conn: Connection, principal: Principal): Promise<void>;
}
