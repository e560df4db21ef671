/**
 * CPU one connection's actor costs XState, without the gateway around it: the connection
 * machine as the gateway provides it (its settings, its effects left out), created in the
 * gateway's shared actor system (src/core/actor-system.ts) and taken through a fresh
 * session's handshake — start, hello, authenticated, admitted, attached — then closed by
 * its client. Per connection: µs of this process's CPU, median of 5 rounds of N.
 *
 *   node --import tsx bench/connection-actor-cpu.ts [N=20000]
 */
import { createActor } from 'xstate';
import {
  type ConnectionEvent,
  connectionMachine,
  DEFAULT_SETTINGS,
  withSettings,
} from '../machines/connection.machine.ts';
import { SharedActorSystem } from '../src/core/actor-system.ts';
import { median } from './lib/stats.ts';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = 5;
const system = new SharedActorSystem((error) => {
  throw error;
});
const machine = connectionMachine.provide(withSettings(DEFAULT_SETTINGS));
const now = Date.now();
const handshake: ConnectionEvent[] = [
  { type: 'hello.received' },
  {
    type: 'authenticate.done',
    output: { userId: 'u', tier: 'free', priority: 1, tokenExpiresAt: now + 3_600_000, tokenIssuedAt: now },
  },
  { type: 'admission.granted' },
  {
    type: 'attach.done',
    output: { sessionId: 's', userId: 'u', correlationId: 'c', handedOver: false, resumed: false },
  },
];

const cpuUs = () => {
  const { user, system: sys } = process.cpuUsage();
  return user + sys;
};

function round(n: number): { open: number; close: number } {
  const actors = [];
  const opening = cpuUs();
  for (let i = 0; i < n; i++) {
    const actor = createActor(machine, {
      input: { connectionId: `c${i}`, correlationId: `x${i}` },
      parent: system.root,
    });
    actor.start();
    for (const event of handshake) actor.send(event);
    actors.push(actor);
  }
  const closing = cpuUs();
  for (const [i, actor] of actors.entries()) {
    actor.send({ type: 'transport.closed', connectionId: `c${i}`, closeCode: 1000, reason: 'bye' });
    system.release(actor);
  }
  const done = cpuUs();
  return { open: (closing - opening) / n, close: (done - closing) / n };
}

round(2000); // warm-up: compiled code, not first calls, is what the gateway runs
const rounds = Array.from({ length: ROUNDS }, () => round(N));
const fmt = (values: number[]) => median(values).toFixed(1);
console.log(
  `connection actor, ${N} per round, median of ${ROUNDS}: ` +
    `${fmt(rounds.map((r) => r.open))} µs to start and take through the handshake, ` +
    `${fmt(rounds.map((r) => r.close))} µs to close`,
);
