/**
 * The largest value recorded within the last `windowMs`, read as often as anyone likes:
 * a gauge every scraper sees the same way (one that reset at each read would hide from
 * Prometheus what a dashboard polling /metrics read first).
 *
 * A monotonic queue: each value drops the smaller ones recorded before it, which can never
 * be the maximum again, so a record and a read cost O(1) amortised.
 */
export class WindowMax {
  private readonly entries: { at: number; value: number }[] = [];

  constructor(readonly windowMs: number) {}

  record(value: number, at: number): void {
    while (this.entries.length > 0 && (this.entries.at(-1)?.value ?? 0) <= value) this.entries.pop();
    this.entries.push({ at, value });
  }

  /** The largest value recorded after `now - windowMs`; 0 when there is none. */
  read(now: number): number {
    const since = now - this.windowMs;
    while (this.entries.length > 0 && (this.entries[0]?.at ?? 0) <= since) this.entries.shift();
    return this.entries[0]?.value ?? 0;
  }
}
