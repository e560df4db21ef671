/**
 * Frames sent from outside the edge's own callbacks — an ack once Redis answered —
 * leave in batches: each socket's frames of one event-loop turn go out corked, in
 * one write, instead of one system call per frame. The edge corks inside its own
 * callbacks by itself; a Redis reply runs outside them. (The profile this answers:
 * the ack's uncorked send was 27% of the gateway's CPU at saturation, issue 13.)
 */

/** What the outbox needs of a connection. */
export interface Flushable {
  /** Write what was queued, corked; called once per turn at most. */
  flushQueued(): void;
}

const waiting = new Set<Flushable>();
let scheduled = false;

/** `conn` queued frames: write them after the I/O of this turn (setImmediate: the check phase). */
export function flushSoon(conn: Flushable): void {
  waiting.add(conn);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  scheduled = false;
  // Taken before flushing: a flush can queue frames on a socket already flushed (closing a
  // slow consumer tells others of its leave), and that socket must stay in the next turn's set.
  const due = [...waiting];
  waiting.clear();
  for (const conn of due) conn.flushQueued();
}
