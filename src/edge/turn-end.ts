/**
 * Sockets whose writes wait for the end of this turn of the loop, then leave together:
 * what one turn sends a socket goes out in one system call, as under uWS's cork. Used by
 * the portable edge's topics (ws-edge/topics.ts) and the SSE streams (sse/sse-streams.ts).
 */
/** Bytes a socket gathers in a turn before they leave anyway: uWS's cork buffer is 16 KiB. */
export const MAX_HELD_BYTES = 16 * 1024;

export interface Releasable {
  release(): void;
}

export class TurnEnd<T extends Releasable> {
  private held: T[] = [];
  private readonly releaseAll = () => {
    const held = this.held;
    this.held = [];
    for (const socket of held) socket.release();
  };

  /** `socket.release()` runs once this turn ends (a socket that let go early may be added again: releasing nothing is a no-op). */
  add(socket: T): void {
    if (this.held.length === 0) setImmediate(this.releaseAll);
    this.held.push(socket);
  }
}
