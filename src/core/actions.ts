/**
 * A client's `action` frame: checked against the token's `actions` claim, then
 * handed to the action sink (a priority queue for backend workers) once the
 * session's inbox — where the reply lands — is delivered live.
 */
import type { ActionFrame } from '../shared/frames.ts';
import type { Connection } from './connection.ts';
import type { GatewayCore } from './gateway-core.ts';
import type { ActionRequest } from './ports/action-sink.ts';
import { channelAllowed } from './principal.ts';
import { subscribeInbox } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';

/**
 * A connection's actions are queued one after another, in the order sent: the queue keeps a
 * session's order only if its jobs arrive in it, and the first action's wait for the inbox
 * would otherwise let the second one's job in first.
 */
const queuedInOrder = new WeakMap<Connection, Promise<void>>();

export function submitAction(core: GatewayCore, conn: Connection, frame: ActionFrame): Promise<void> {
  const { ref, name } = frame;
  return conn.trace.action(name, ref, async () => {
    const { principal, sessionId } = conn;
    if (!principal || !sessionId || !channelAllowed(principal.actions, name)) {
      conn.fail('ACTION_FORBIDDEN', { ref, detail: name });
      return;
    }
    const request = {
      ref,
      name,
      sessionId,
      userId: principal.userId,
      tier: principal.tier,
      correlationId: conn.correlationId,
      data: frame.data ?? null,
    };
    const queued = (queuedInOrder.get(conn) ?? Promise.resolve()).then(() => enqueue(core, conn, request));
    queuedInOrder.set(conn, queued);
    await queued;
  });
}

/** Never rejects: a failure is answered to the client, for the action's ref. */
async function enqueue(core: GatewayCore, conn: Connection, request: ActionRequest): Promise<void> {
  const { ref, name } = request;
  try {
    // Listen on the inbox before the job exists, so the reply cannot slip past. A store found
    // not answering refuses the action there, before its job is sent: nothing was queued. Once
    // sent, the job waits for Redis however long it is frozen — it lands when Redis wakes and
    // is answered then — for a STORE_UNAVAILABLE now would be a second answer to an action
    // that still runs (or times out), and a client retrying on it would run it twice.
    await core.ports.actions.submit(request, () =>
      core.ports.readiness.whileAnswering(subscribeInbox(core, conn)),
    );
  } catch (error) {
    if (error instanceof TetherError) {
      conn.fail(error.code, { ref, detail: error.detail });
      return;
    }
    conn.logger.warn({ err: error, action: name }, 'action: enqueue failed');
    conn.fail('STORE_UNAVAILABLE', { ref });
  }
}
