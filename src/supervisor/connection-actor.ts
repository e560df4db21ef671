/**
 * Gives the pure connection machine its real effects: closing the socket and
 * keeping the session hash in Redis in step with the actor's state.
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

export function createConnectionActor(
  input: ConnectionInput,
  sessions: SessionStore,
  effects: ConnectionEffects,
  logger: Logger,
): ConnectionActor {
  const warn = (what: string) => (error: unknown) =>
    logger.warn({ err: error }, `session store: ${what} failed`);
  const machine = connectionMachine.provide({
    actions: {
      closeTransport: ({ context }, { code }) =>
        effects.closeTransport(context.connectionId, code as ErrorCode),
      markSessionLive: ({ context }) => {
        if (context.sessionId)
          sessions.markLive(context.sessionId, context.connectionId).catch(warn('markLive'));
      },
      markSessionResumable: ({ context }) => {
        if (context.sessionId) {
          sessions.markResumable(context.sessionId, context.connectionId).catch(warn('markResumable'));
        }
      },
      deleteSession: ({ context }) => {
        if (context.sessionId)
          sessions.deleteIfOwner(context.sessionId, context.connectionId).catch(warn('delete'));
      },
    },
  });
  return createActor(machine, { input });
}
