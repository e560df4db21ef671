/**
 * Which transport a new connection tries (docs/protocol.md §1.1): WebSocket first,
 * the SSE fallback when the upgrade fails or stalls; a fallback that worked is remembered
 * for `transportMemoryMs`, then WebSocket is tried again (the network may have changed),
 * and a WebSocket that opens forgets it at once. A forced transport is the only one tried.
 */
export type TransportName = 'websocket' | 'sse';
export type TransportPreference = 'auto' | TransportName;

export class TransportChoice {
  private sseUntil = 0;

  constructor(
    private readonly preference: TransportPreference,
    private readonly memoryMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The transports to try for the next connection, in order. */
  plan(): TransportName[] {
    if (this.preference !== 'auto') return [this.preference];
    return this.now() < this.sseUntil ? ['sse'] : ['websocket', 'sse'];
  }

  /** A connection opened on `transport`. */
  worked(transport: TransportName): void {
    if (this.preference !== 'auto') return;
    this.sseUntil = transport === 'sse' ? this.now() + this.memoryMs : 0;
  }
}
