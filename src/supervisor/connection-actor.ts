/**
 * Gives the pure connection machine its real effects: closing the socket and
 * keeping the session hash in Redis in step with the actor's state.
 *
 * The machine is provided ONCE per process and every actor is created from that
 * one machine: `machine.provide()` clones every state node, and doing it per
 * connection cost ~20 KB of heap each (measured with bench idle-memory).
 * Everything an effect needs about its connection is in the actor's context.
 */
import { type Actor, createActor } from 'xstate';
import { type ConnectionInput, connectionMachine } from '../../machines/connection.machine.ts';
import type { Logger } from '../observability/logger.ts';
import type { SessionStore } from '../session/session-store.ts';
import type { ErrorCode } from '../shared/errors.ts';

export type ConnectionActor = Actor<typeof connectionMachine>;

export interface ConnectionEffects {
  /** Close the transport currently bound to the actor with the registry's code. */
  closeTransport(connectionId: string, code: ErrorCode): void;
}

/** Creates the connection actors of one process; call `create` once per connection. */
export function connectionActorFactory(
  sessions: SessionStore,
  effects: ConnectionEffects,
  logger: Logger,
): (input: ConnectionInput) => ConnectionActor {
  const warn =
    (what: string, context: { connectionId: string; correlationId: string; sessionId?: string }) =>
    (error: unknown) =>
      logger.warn(
        {
          err: error,
          connectionId: context.connectionId,
          correlationId: context.correlationId,
          sessionId: context.sessionId,
        },
        `session store: ${what} failed`,
      );
  const machine = connectionMachine.provide({
    actions: {
      closeTransport: ({ context }, { code }) =>
        effects.closeTransport(context.connectionId, code as ErrorCode),
      markSessionLive: ({ context }) => {
        if (context.sessionId)
          sessions.markLive(context.sessionId, context.connectionId).catch(warn('markLive', context));
      },
      markSessionResumable: ({ context }) => {
        if (context.sessionId)
          sessions
            .markResumable(context.sessionId, context.connectionId)
            .catch(warn('markResumable', context));
      },
      deleteSession: ({ context }) => {
        if (context.sessionId)
          sessions.deleteIfOwner(context.sessionId, context.connectionId).catch(warn('delete', context));
      },
    },
  });
  return (input) => createActor(machine, { input });
}
