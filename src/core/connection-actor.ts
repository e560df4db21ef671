/** The actor of one connection (machines/connection.machine.ts), as the core holds it. */
import type { Actor } from 'xstate';
import type { connectionMachine } from '../../machines/connection.machine.ts';

export type ConnectionActor = Actor<typeof connectionMachine>;

/** The states of `connecting.handshake` (machines/connection.machine.ts; a unit test holds the two together). */
export const HANDSHAKE_STATES = ['awaitingHello', 'authenticating', 'admitting', 'attaching'] as const;
export type HandshakeState = (typeof HANDSHAKE_STATES)[number];

/**
 * Which state of `connecting.handshake` a snapshot's value is in, undefined outside it:
 * read from the value (`{ connecting: { handshake: 'attaching' } }`) with two property
 * reads. `snapshot.matches()` builds and walks a state value for every call, and the
 * handshake asks this on every frame before welcome and on every step's answer.
 */
export function handshakeState(value: unknown): HandshakeState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const connecting = (value as { connecting?: unknown }).connecting;
  return typeof connecting === 'object' && connecting !== null
    ? (connecting as { handshake?: HandshakeState }).handshake
    : undefined;
}

/**
 * Where a socket's hello stands, read from its actor's state: `waiting` for hello,
 * `busy` while it is being handled (frames are held), `done` once welcome was sent.
 * Runs once per inbound frame: `connected` is an atomic state, so the common case is
 * one string comparison.
 */
export function helloPhase(actor: ConnectionActor): 'waiting' | 'busy' | 'done' {
  const { value } = actor.getSnapshot();
  if (value === 'connected') return 'done';
  return handshakeState(value) === 'awaitingHello' ? 'waiting' : 'busy';
}
