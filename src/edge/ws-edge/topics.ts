/**
 * uWS's pub/sub for the portable edge: app-wide topics, exact names (Tether
 * publishes to exact channel topics; uWS's MQTT wildcards are not reproduced).
 * A publish reaches every subscriber under its backpressure limit; one over it is
 * skipped — and cut, with `closeOnBackpressureLimit` — never blocks the others.
 */
import type { EdgeSocket } from './edge-socket.ts';

type AnySocket = EdgeSocket<unknown>;

export class Topics {
  private readonly subscribers = new Map<string, Set<AnySocket>>();

  subscribe<T>(topic: string, ws: EdgeSocket<T>): void {
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(ws as AnySocket);
    ws.topics ??= new Set();
    ws.topics.add(topic);
  }

  unsubscribe<T>(topic: string, ws: EdgeSocket<T>): boolean {
    if (!ws.topics?.delete(topic)) return false;
    const set = this.subscribers.get(topic);
    set?.delete(ws as AnySocket);
    if (set?.size === 0) this.subscribers.delete(topic);
    return true;
  }

  unsubscribeAll<T>(ws: EdgeSocket<T>): void {
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
