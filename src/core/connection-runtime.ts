/**
 * Gives the pure connection machine its real effects and steps: closing sockets,
 * asking the pool, the handshake steps, delivery, and keeping the session hash in
 * Redis in step with the actor's state.
 *
 * The machine is provided ONCE per process and every actor is created from that
 * one machine: `machine.provide()` clones every state node, and doing it per
 * connection cost ~20 KB of heap each (measured with bench idle-memory).
 * Everything an effect needs about its connection is in the actor's context; the
 * socket is found by the context's connection ID.
 */
import { createActor, fromPromise } from 'xstate';
import {
  type Attached,
  type Authenticated,
  type ConnectionInput,
  connectionMachine,
  type StepInput,
} from '../../machines/connection.machine.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { jitteredRetryAfter } from '../shared/errors.ts';
import { attachSession } from './attach-session.ts';
import { authenticate } from './authenticate.ts';
import type { Connection } from './connection.ts';
import type { ConnectionActor } from './connection-actor.ts';
import { runHeldFrames } from './frame-router.ts';
import type { GatewayCore } from './gateway-core.ts';
import { replaySessionChannels } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';

/** Creates the connection actors of one process; call the result once per socket. */
export function connectionActorFactory(core: GatewayCore): (input: ConnectionInput) => ConnectionActor {
  const { connections, supervisor, ports } = core;
  const { sessions } = ports;
  const socketOf = (connectionId: string) => connections.get(connectionId);
  const warn = (what: string, context: { connectionId: string; sessionId?: string }) => (error: unknown) =>
    core.logger.warn(
      { err: error, connectionId: context.connectionId, sessionId: context.sessionId },
      `session store: ${what} failed`,
    );
  const step = <T>(run: (conn: Connection) => Promise<T>) =>
    fromPromise<T, StepInput>(async ({ input }) => {
      const conn = socketOf(input.connectionId);
      // Gone already: the actor has heard transport.closed and no longer waits for this.
      if (!conn?.isOpen) throw new TetherError('INTERNAL', { detail: 'the socket closed' });
      return run(conn);
    });

  const machine = connectionMachine.provide({
    actions: {
      // Closing a socket reports back to the actor (transport.closed), and the edge may do it
      // within the call: close once this step is done, so the close follows the transition.
      // The actor's timers (handshake, admission) end many waiters at once: jitter the
      // hint so refused clients do not all come back in the same moment.
      closeTransport: ({ context }, { code, detail, retryAfterMs }) =>
        queueMicrotask(() =>
          socketOf(context.connectionId)?.close(code as ErrorCode, {
            detail,
            retryAfterMs: retryAfterMs ?? jitteredRetryAfter(code as ErrorCode),
          }),
        ),
      retireTransport: (_, { connectionId }) =>
        queueMicrotask(() =>
          socketOf(connectionId)?.close('SERVICE_RESTART', {
            detail: 'session resumed on a newer connection',
          }),
        ),
      requestAdmission: ({ context }) =>
        supervisor.requestAdmission(context.connectionId, context.priority ?? 1),
      startDelivery: ({ context }) => {
        const conn = socketOf(context.connectionId);
        if (!conn) return;
        // Frames sent behind hello go before anything sent after welcome, and do not wait
        // for the replay of a resumed session.
        runHeldFrames(core, conn);
        replaySessionChannels(core, conn);
      },
      handOverTransport: ({ context, event }) => {
        const conn = socketOf(context.connectionId);
        const sessionId = (event as unknown as { output: Attached }).output.sessionId;
        const owner = supervisor.sessionActor(sessionId);
        if (!conn || !owner) return;
        conn.actor = owner;
        owner.send({
          type: 'transport.attached',
          connectionId: conn.id,
          correlationId: conn.correlationId,
          tokenExpiresAt: conn.principal?.expiresAt,
          tokenIssuedAt: conn.principal?.issuedAt,
        });
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
      recordError: ({ context }) => {
        if (context.sessionId) sessions.incrementErrors(context.sessionId);
      },
    },
    actors: {
      authenticate: step<Authenticated>((conn) => authenticate(core, conn)),
      attachSession: step<Attached>((conn) => attachSession(core, conn)),
    },
  });
  // Children of one root: the actors of a process share one XState system (actor-system.ts).
  const parent = supervisor.actorSystem.root;
  return (input) => createActor(machine, { input, parent });
}
