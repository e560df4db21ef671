/**
 * The first handshake step (the connection machine's `authenticating`): the
 * resumed session's correlation ID, rate limits, token verification (with a
 * progressive delay after repeated failures), per-user limits, and whether the
 * backend blocked the user or revoked the token (src/control/). Resolves with who
 * the client is; rejects with the TetherError its socket is closed with.
 *
 * A session keeps ONE correlation ID for its whole life: a resuming connection
 * that brought none of its own (header or hello) takes the session's, before its
 * trace starts, so one query finds every socket, span and log line of a session.
 */
import type { Authenticated } from '../../machines/connection.machine.ts';
import { codedFailure } from './coded-failure.ts';
import type { Connection } from './connection.ts';
import type { GatewayCore } from './gateway-core.ts';
import { tierPriority } from './principal.ts';
import { resumeTokenMatches } from './resume-token.ts';
import { TetherError } from './tether-error.ts';

/** Room left after a stall for the refusal to be sent before the handshake's deadline. */
const REPLY_MARGIN_MS = 250;

/**
 * How long a failed hello's reply may still be stalled: the progressive delay never
 * outlasts the handshake's own deadline (HANDSHAKE_TIMEOUT_MS from the socket's open), so
 * the client hears that its token was bad, not that it was slow. The deadline would close
 * the socket at that point anyway: a shorter stall gives an attacker nothing more.
 */
function handshakeTimeLeftMs(core: GatewayCore, conn: Connection): number {
  return conn.openedAt + core.config.handshakeTimeoutMs - REPLY_MARGIN_MS - Date.now();
}

/**
 * What a rejected hello's line says of its cause. A refusal of the client's hello (a bad or
 * expired token, a limit) is routine: the cause's message, no stack (kilobytes a line), and
 * nothing else of it — a token library's error carries the token's claims (jose's
 * `payload`), personal data. A fault of ours (INTERNAL) keeps the whole error, to be fixed.
 */
function causeOf(rejection: TetherError): { reason?: string; err?: unknown } {
  const { cause } = rejection;
  if (cause === undefined) return {};
  if (rejection.code === 'INTERNAL') return { err: cause };
  return { reason: cause instanceof Error ? cause.message : String(cause) };
}

export async function authenticate(core: GatewayCore, conn: Connection): Promise<Authenticated> {
  const hello = conn.hello;
  if (!hello) throw new TetherError('INTERNAL', { detail: 'no hello to authenticate' });
  const { gate, verifier, readiness, sessions, revocations } = core.ports;
  try {
    // No session can be created without the store: say so now rather than after the
    // limits' commands have waited out their retries.
    if (!readiness.isReady()) throw new TetherError('STORE_UNAVAILABLE');
    const resume = hello.resume;
    // Asked together (one round trip, the token verified meanwhile); answered in order below.
    const loading = resume ? sessions.load(resume.sessionId) : undefined;
    const allowed = gate.beforeAuth(conn);
    allowed.catch(() => {}); // awaited below, after the session's correlation ID is known
    // The token is verified while the IP's budget is read; an IP over its budget is refused
    // before anything about its token is told or counted. A good token's user is looked up
    // for a block or a revocation at once (a read, answered only after the IP's budget), so
    // that read joins the budget's round trip rather than adding one.
    const verified = verifier.verify(hello.token).then(
      (principal) => {
        const refusal = revocations.refusal(principal);
        refusal.catch(() => {}); // awaited below unless the IP's budget or the token refuses first
        return { principal, refusal };
      },
      (error: unknown) => ({ error }),
    );
    const prior = await loading;
    // Kept for the attach step (its user is checked there, after the token is).
    conn.resumable =
      prior && resume && resumeTokenMatches(resume.resumeToken, prior.resumeTokenHash) ? prior : undefined;
    const ownId = conn.handshake.correlationId ?? hello.correlationId; // the upgrade header first
    if (ownId) conn.correlationId = ownId;
    else if (conn.resumable) conn.correlationId = conn.resumable.correlationId;
    conn.trace.helloReceived(conn.correlationId, hello.traceparent);
    await allowed;
    const verdict = await verified;
    if ('error' in verdict) {
      // Past the IP's failure budget this throws AUTH_RATE_LIMITED instead (parallel hellos).
      const stallMs = Math.min(await gate.authFailed(conn), handshakeTimeLeftMs(core, conn));
      if (stallMs > 0) await new Promise((resolve) => setTimeout(resolve, stallMs));
      throw verdict.error;
    }
    const { principal } = verdict;
    if (!conn.isOpen) throw new TetherError('INTERNAL', { detail: 'the socket closed' });
    // A blocked user or a revoked token is refused like a bad token.
    const [refused] = await Promise.all([verdict.refusal, gate.afterAuth(conn, principal)]);
    if (refused) throw new TetherError(refused);
    conn.principal = principal;
    conn.client = hello.client;
    conn.batching = hello.batch === true;
    return {
      userId: principal.userId,
      tier: principal.tier,
      priority: tierPriority(core.config.admission.tierPriorities, principal.tier),
      tokenExpiresAt: principal.expiresAt,
      tokenIssuedAt: principal.issuedAt,
    };
  } catch (error) {
    // The verifier and the limits throw TetherErrors for every refusal; anything else came
    // from the store and says nothing about the token, so it must stay retryable.
    const rejection = codedFailure(error, readiness);
    conn.logger.info(
      { code: rejection.code, detail: rejection.detail, ...causeOf(rejection) },
      'hello rejected',
    );
    throw rejection;
  }
}
