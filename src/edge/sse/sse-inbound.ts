/**
 * A stream's POSTs in the order the client sent them. A POST may reach another gateway
 * process (several share a port) and come here over Redis, after a later one that came
 * straight: the SDK numbers its POSTs (`tether-seq`: 1, 2, …) and they are handled in that
 * order. A POST without a number is handled as it comes.
 */

/** POSTs held for an earlier one still on its way; past this the stream is cut (the client resumes). */
const MAX_HELD = 32;

export class InboundSequence {
  private next = 1;
  private readonly held = new Map<number, Buffer>();

  /** The bodies to handle now, in order; `overflow` when too many wait for a missing one. */
  accept(seq: number | undefined, body: Buffer): Buffer[] | 'overflow' {
    if (seq === undefined) return [body];
    if (seq < this.next) return []; // a repeat
    this.held.set(seq, body);
    if (this.held.size > MAX_HELD) return 'overflow';
    const ready: Buffer[] = [];
    for (let body = this.held.get(this.next); body; body = this.held.get(this.next)) {
      ready.push(body);
      this.held.delete(this.next);
      this.next++;
    }
    return ready;
  }
}

/** The `tether-seq` header: a positive integer, else none. */
export function parseSeq(header: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(header)) return undefined;
  return Number(header);
}
