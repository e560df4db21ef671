/** The actor of one connection (machines/connection.machine.ts), as the core holds it. */
import type { Actor } from 'xstate';
import type { connectionMachine } from '../../machines/connection.machine.ts';

export type ConnectionActor = Actor<typeof connectionMachine>;

/**
 * Where a socket's hello stands, read from its actor's state: `waiting` for hello,
 * `busy` while it is being handled (frames are held), `done` once welcome was sent.
 * Runs once per inbound frame: `connected` is an atomic state, so the common case is
 * one string comparison.
 */
export function helloPhase(actor: ConnectionActor): 'waiting' | 'busy' | 'done' {
  const snapshot = actor.getSnapshot();
  if (snapshot.value === 'connected') return 'done';
  return snapshot.matches({ connecting: { handshake: 'awaitingHello' } }) ? 'waiting' : 'busy';
}
