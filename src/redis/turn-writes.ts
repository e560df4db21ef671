/**
 * The commands a connection is given in one turn of the event loop leave together,
 * in the order given — what ioredis's auto-pipelining is for, at about half its CPU.
 * Auto-pipelining builds a Pipeline per turn (copying every script defined on the
 * connection into it) and a second promise per command; this holds the socket corked
 * from a turn's first command until the turn's check phase (setImmediate) or
 * MAX_HELD_COMMANDS, whichever comes first, and then writes them at once (one writev).
 *
 * The turn is the loop's whole poll phase, not one callback: uWebSockets.js drains
 * process.nextTick after every message it delivers, so auto-pipelining (which
 * flushes on nextTick) wrote once per client frame; here the frames that one poll
 * read leave together. `node --import tsx bench/redis-writes.ts` (event-log.ts's
 * appends, 1,600 in flight, private redis-server): 12.9 µs of gateway CPU per append
 * auto-pipelined, 7.6 µs here; 67K → 141K appends/s.
 *
 * The batch is bounded because in a long turn — a reconnect storm's poll can run
 * hundreds of handshakes — Redis would otherwise idle until the turn ends and then
 * answer everything an iteration of the loop later (the health PING too: one storm of
 * two thrashed on STORE_UNAVAILABLE without the bound); with it Redis works beside the
 * gateway.
 *
 * ioredis still does all else: replies matched in order, the offline queue,
 * reconnects, Sentinel, TLS. A command sent
 * while the connection is down goes to ioredis's offline queue as before; corking a
 * socket that is not connected yet is harmless (Node holds the writes until it is).
 */
import type { Redis } from 'ioredis';

/** Commands held before they leave anyway (~6 KB of appends; Redis reads 16 KB at a time). */
const MAX_HELD_COMMANDS = 32;

/**
 * For a connection to one server (also behind Sentinel) made with auto-pipelining off.
 * Not for a cluster's nodes: corked per node, a turn's commands to different nodes were
 * reordered against each other (integration-cluster lifecycle-notifications failed 3 of
 * 7 runs), so a cluster keeps ioredis's auto-pipeline (src/redis/redis-clients.ts).
 */
export function writeOncePerTurn(connection: Redis): void {
  let held: Redis['stream'] | undefined;
  let count = 0;
  let turnEndScheduled = false;
  const release = () => {
    const stream = held;
    held = undefined;
    count = 0;
    stream?.uncork();
  };
  const endOfTurn = () => {
    turnEndScheduled = false;
    release();
  };
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = (command, stream) => {
    // A command for another stream (ioredis's own pipelines) is that stream's business.
    if (held === undefined && stream === undefined && connection.stream) {
      held = connection.stream;
      held.cork();
      // One check-phase release per turn, however many batches the bound cut it into.
      if (!turnEndScheduled) {
        turnEndScheduled = true;
        setImmediate(endOfTurn);
      }
    }
    const reply = send(command, stream);
    if (held !== undefined && ++count >= MAX_HELD_COMMANDS) release();
    return reply;
  };
}
