/**
 * uWS's pub/sub for the portable edge: app-wide topics, exact names (Tether
 * publishes to exact channel topics; uWS's MQTT wildcards are not reproduced).
 * A publish reaches every subscriber under its backpressure limit; one over it is
 * skipped — and cut, with `closeOnBackpressureLimit` — never blocks the others.
 */
/** What a topic holds: a socket that can take a published frame (src/edge/ws-edge/edge-socket.ts). */
export interface Subscriber {
  topics: Set<string> | undefined;
  /** Send, or drop (and cut) past the backpressure limit; never throws. */
  write(data: Uint8Array, isBinary: boolean): number;
}

export class Topics {
  private readonly subscribers = new Map<string, Set<Subscriber>>();

  subscribe(topic: string, ws: Subscriber): void {
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(ws);
    ws.topics ??= new Set();
    ws.topics.add(topic);
  }

  unsubscribe(topic: string, ws: Subscriber): boolean {
    if (!ws.topics?.delete(topic)) return false;
    const set = this.subscribers.get(topic);
    set?.delete(ws);
    if (set?.size === 0) this.subscribers.delete(topic);
    return true;
  }

  unsubscribeAll(ws: Subscriber): void {
    if (!ws.topics) return;
    for (const topic of [...ws.topics]) this.unsubscribe(topic, ws);
  }

  count(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  publish(topic: string, message: string | Uint8Array, isBinary: boolean): boolean {
    const set = this.subscribers.get(topic);
    if (!set) return true;
    // Encoded once, not once per subscriber.
    const data = typeof message === 'string' ? Buffer.from(message) : message;
    for (const ws of set) ws.write(data, isBinary);
    return true;
  }
}
