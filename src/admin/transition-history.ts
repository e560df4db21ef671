/**
 * The recent state transitions of each connection actor, for
 * `GET /connections/:id` ("what happened to this connection?"). A small ring per
 * actor, held in a WeakMap so it is freed with the actor; recorded from the
 * supervisor's transition hook, i.e. on lifecycle changes only, never per message.
 */

export interface TransitionRecord {
  /** Unix ms. */
  at: number;
  from: string | undefined;
  to: string;
  /** The socket bound to the actor at the time (a resumed session changes socket). */
  connectionId: string;
  /** The error code when the actor entered `failed`, why it `closed`, or the code its transport was closed with on entering `reconnecting`. */
  detail?: string;
}

/** Transitions kept per actor; older ones are dropped first. */
export const HISTORY_LIMIT = 32;

export class TransitionHistory<K extends object> {
  private readonly rings = new WeakMap<K, TransitionRecord[]>();

  constructor(private readonly limit = HISTORY_LIMIT) {}

  record(key: K, entry: TransitionRecord): void {
    let ring = this.rings.get(key);
    if (!ring) {
      ring = [];
      this.rings.set(key, ring);
    }
    ring.push(entry);
    if (ring.length > this.limit) ring.splice(0, ring.length - this.limit);
  }

  /** Oldest first; empty when nothing was recorded. */
  of(key: K): readonly TransitionRecord[] {
    return this.rings.get(key) ?? [];
  }
}
