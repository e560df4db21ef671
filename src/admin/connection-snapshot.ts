/**
 * `GET /connections/:id`: "what happened to this connection?" — the actor's
 * current state and context, its recent transitions, and the socket bound to it.
 * `:id` is a connection ID (welcome's `connectionId`, a live socket here) or a
 * session ID (also finds a session waiting in `reconnecting` with no socket).
 */
import type { ConnectionActor } from '../core/connection-actor.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import { redactSecrets } from '../observability/secrets.ts';
import { socketSummary } from './stats-report.ts';
import type { TransitionHistory, TransitionRecord } from './transition-history.ts';

export interface ConnectionSnapshot {
  id: string;
  foundBy: 'connection' | 'session';
  actor: { state: unknown; status: string; context: Record<string, unknown> };
  /** The socket bound to the actor in this process; null while the session waits to be resumed. */
  socket: ReturnType<typeof socketSummary> | null;
  history: readonly (Omit<TransitionRecord, 'at'> & { at: string })[];
}

export function connectionSnapshot(
  core: GatewayCore,
  history: TransitionHistory<ConnectionActor>,
  id: string,
): ConnectionSnapshot | undefined {
  const conn = core.connections.get(id);
  const actor = conn?.actor ?? core.supervisor.sessionActor(id);
  if (!actor) return undefined;
  const snapshot = actor.getSnapshot();
  const bound = conn ?? core.connections.get(snapshot.context.connectionId);
  return {
    id,
    foundBy: conn ? 'connection' : 'session',
    // Secrets censored at any depth, whatever a future machine keeps in its context.
    actor: {
      state: snapshot.value,
      status: snapshot.status,
      context: redactSecrets({ ...snapshot.context }),
    },
    socket: bound ? socketSummary(bound, core.supervisor) : null,
    history: history.of(actor).map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
  };
}
