/**
 * Gives the pure connection machine its real effects and steps: closing sockets,
 * asking the pool, the handshake steps, delivery, and keeping the session hash in
 * Redis in step with the actor's state.
 *
 * The machine is provided ONCE per process and every actor is created from that
 * one machine: `machine.provide()` clones every state node, and doing it per
 * connection cost ~20 KB of heap each (measured with bench idle-memory).
 * Everything an effect needs about its connection is in the actor's context; the
 * socket is found by the context's connection ID. The process's settings (timeouts,
 * error budget) are provided here too, once, not carried in every actor's context.
 */
import { createActor } from 'xstate';
import {
  type Attached,
  type Authenticated,
  type ConnectionEvent,
  type ConnectionInput,
  connectionMachine,
  withSettings,
} from '../../machines/connection.machine.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { jitteredRetryAfter } from '../shared/errors.ts';
import { attachSession } from './attach-session.ts';
import { authenticate } from './authenticate.ts';
import { codedFailure } from './coded-failure.ts';
import type { Connection } from './connection.ts';
import { type ConnectionActor, type HandshakeState, handshakeState } from './connection-actor.ts';
import { runHeldFrames } from './frame-router.ts';
import type { GatewayCore } from './gateway-core.ts';
import { replaySessionChannels } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';

/** What a step needs of the actor it answers. */
interface StepCaller {
  getSnapshot(): { value: unknown };
  send(event: ConnectionEvent): void;
}

/** A handshake step: the state that waits for it, the work, and the events that answer it. */
interface HandshakeStep<T = never> {
  /** The state of `connecting.handshake` that waits for the answer. */
  waitingIn: Extract<HandshakeState, 'authenticating' | 'attaching'>;
  run(core: GatewayCore, conn: Connection): Promise<T>;
  done(output: T): ConnectionEvent;
  failed(error: unknown): ConnectionEvent;
}

// Built once, not per connection.
const authenticateStep: HandshakeStep<Authenticated> = {
  waitingIn: 'authenticating',
  run: authenticate,
  done: (output) => ({ type: 'authenticate.done', output }),
  failed: (error) => ({ type: 'authenticate.failed', error }),
};
const attachStep: HandshakeStep<Attached> = {
  waitingIn: 'attaching',
  run: attachSession,
  done: (output) => ({ type: 'attach.done', output }),
  failed: (error) => ({ type: 'attach.failed', error }),
};

/** Creates the connection actors of one process; call the result once per socket. */
export function connectionActorFactory(core: GatewayCore): (input: ConnectionInput) => ConnectionActor {
  const { connections, supervisor, ports, config } = core;
  const { sessions } = ports;
  const socketOf = (connectionId: string) => connections.get(connectionId);
  const warn = (what: string, context: { connectionId: string; sessionId?: string }) => (error: unknown) =>
    core.logger.warn(
      { err: error, connectionId: context.connectionId, sessionId: context.sessionId },
      `session store: ${what} failed`,
    );
  /**
   * Runs a handshake step and answers the actor with its result, only while the actor still
   * waits in that step's state: after a close or a timeout it has moved on (to a final state),
   * and the late answer is dropped. Each step's state is entered once per actor
   * (`authenticating` from `awaitingHello`; `attaching` from `admitting` or `queued`, never
   * again after), so the state alone tells the answer is the one the actor waits for.
   */
  const runStep = <T>(self: StepCaller, connectionId: string, step: HandshakeStep<T>) => {
    const conn = socketOf(connectionId);
    // Gone already: the actor hears (or has heard) transport.closed and will not wait for this.
    // A hello that waited on a Redis found frozen is told so (STORE_UNAVAILABLE, retryable)
    // before its handshake timeout would blame the client for a hello it did send.
    const result = conn?.isOpen
      ? ports.readiness.whileAnswering(step.run(core, conn)).catch((error: unknown) => {
          const refusal = codedFailure(error, ports.readiness);
          if (refusal !== error)
            conn.logger.warn(
              { err: error, code: refusal.code, step: step.waitingIn },
              'handshake step failed',
            );
          throw refusal;
        })
      : Promise.reject(new TetherError('INTERNAL', { detail: 'the socket closed' }));
    result.then(
      (output) => {
        if (handshakeState(self.getSnapshot().value) === step.waitingIn) self.send(step.done(output));
      },
      (error: unknown) => {
        if (handshakeState(self.getSnapshot().value) === step.waitingIn) self.send(step.failed(error));
      },
    );
  };

  const machine = connectionMachine.provide({
    ...withSettings({
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      resumeWindowMs: config.resumeWindowMs,
      admissionTimeoutMs: config.admission.timeoutMs,
      maxErrorsPerMinute: config.maxErrorsPerMinute,
    }),
    actions: {
      // Closing a socket reports back to the actor (transport.closed), and the edge may do it
      // within the call: close once this step is done, so the close follows the transition.
      // The actor's timers (handshake, admission) end many waiters at once: jitter the
      // hint so refused clients do not all come back in the same moment.
      // The frames the edge hands on meanwhile (read from the same chunk) are not carried out.
      closeTransport: ({ context }, { code, detail, retryAfterMs }) => {
        socketOf(context.connectionId)?.refuseFrames();
        queueMicrotask(() =>
          socketOf(context.connectionId)?.close(code as ErrorCode, {
            detail,
            retryAfterMs: retryAfterMs ?? jitteredRetryAfter(code as ErrorCode),
          }),
        );
      },
      retireTransport: (_, { connectionId }) => {
        socketOf(connectionId)?.refuseFrames();
        queueMicrotask(() =>
          socketOf(connectionId)?.close('SERVICE_RESTART', {
            detail: 'session resumed on a newer connection',
          }),
        );
      },
      requestAdmission: ({ context }) =>
        supervisor.requestAdmission(context.connectionId, context.priority ?? 1),
      startDelivery: ({ context }) => {
        const conn = socketOf(context.connectionId);
        if (!conn) return;
        // The resumed channels' subscribes are under way first (registered at once, answered
        // as their replays start), so that a frame sent behind hello about one of them — an
        // unsubscribe — comes after it. Those frames go before anything sent after welcome,
        // and do not wait for the replays.
        replaySessionChannels(core, conn);
        runHeldFrames(core, conn);
      },
      handOverTransport: ({ context, event }) => {
        const conn = socketOf(context.connectionId);
        const sessionId = (event as { output: Attached }).output.sessionId;
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
      authenticate: ({ context, self }) => runStep(self, context.connectionId, authenticateStep),
      attachSession: ({ context, self }) => runStep(self, context.connectionId, attachStep),
    },
  });
  // Children of one root: the actors of a process share one XState system (actor-system.ts).
  const parent = supervisor.actorSystem.root;
  return (input) => createActor(machine, { input, parent });
}
