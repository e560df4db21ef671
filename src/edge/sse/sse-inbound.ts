/**
 * A stream's POSTs in the order the client sent them. A POST may reach another gateway
 * process (several share a port) and come here over Redis, after a later one that came
 * straight: the SDK numbers its POSTs (`tether-seq`: 1, 2, …) and they are handled in that
 * order. A POST without a number is handled as it comes.
 *
 * A missing POST is never waited for silently: one numbered beyond the window cannot be
 * put in order, and POSTs held longer than MISSING_POST_WAIT_MS wait for one that is not
 * coming. Either is a `Gap`; the endpoint closes the stream with SSE_POST_MISSING.
 */

/** How far ahead of the next expected POST one may be numbered and still be held for it. */
const WINDOW = 32;

/**
 * How long held POSTs wait for a missing one. A POST that reached another process is passed
 * on within 2 s (src/redis/control-bus.ts, ANSWER_WITHIN_MS) or its sender was answered 503.
 */
export const MISSING_POST_WAIT_MS = 5000;

/** POST `missing` never came: those numbered after it cannot be handled in order. */
export interface Gap {
  missing: number;
  detail: string;
}

export class InboundSequence {
  private next = 1;
  private readonly held = new Map<number, Buffer>();
  /** Since when the held POSTs have waited for `next` (none held: undefined). */
  private waitingSince: number | undefined;

  /** The bodies to handle now, in order; a `Gap` when `seq` is too far ahead to hold. */
  accept(seq: number | undefined, body: Buffer, now = Date.now()): Buffer[] | Gap {
    if (seq === undefined) return [body];
    if (seq < this.next) return []; // a repeat
    if (seq >= this.next + WINDOW)
      return this.gap(`POST ${seq} came while POST ${this.next} had not: more than ${WINDOW} ahead`);
    const waitingFor = this.next;
    this.held.set(seq, body);
    const ready: Buffer[] = [];
    for (let body = this.held.get(this.next); body; body = this.held.get(this.next)) {
      ready.push(body);
      this.held.delete(this.next);
      this.next++;
    }
    if (this.held.size === 0) this.waitingSince = undefined;
    else if (this.waitingSince === undefined || this.next !== waitingFor) this.waitingSince = now;
    return ready;
  }

  /** The missing POST held ones have waited for past MISSING_POST_WAIT_MS, if any. */
  overdue(now = Date.now()): Gap | undefined {
    if (this.waitingSince === undefined || now - this.waitingSince < MISSING_POST_WAIT_MS) return undefined;
    const waited = Math.round((now - this.waitingSince) / 1000);
    return this.gap(`POST ${this.next} did not come within ${waited} s; ${this.held.size} later POSTs held`);
  }

  private gap(detail: string): Gap {
    return { missing: this.next, detail };
  }
}

/** The `tether-seq` header: a positive integer, else none. */
export function parseSeq(header: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(header)) return undefined;
  return Number(header);
}
