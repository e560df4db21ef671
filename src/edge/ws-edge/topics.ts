/**
 * uWS's pub/sub for the portable edge: app-wide topics, exact names (Tether
 * publishes to exact channel topics; uWS's MQTT wildcards are not reproduced).
 * A publish reaches every subscriber under its backpressure limit; one over it is
 * skipped — and cut, with `closeOnBackpressureLimit` — never blocks the others.
 */
import { TurnEnd } from '../turn-end.ts';
import { serverFrame } from './frame.ts';

/** What a topic holds: a socket that can take a published frame (src/edge/ws-edge/edge-socket.ts). */
export interface Subscriber {
  topics: Set<string> | undefined;
  /** Write a whole frame, or drop it (and cut) past the backpressure limit; never throws. */
  writeFrame(frame: Uint8Array): number;
  /** Writes wait in the socket until `release`, then leave together. */
  readonly held: boolean;
  hold(): void;
  release(): void;
  /** Sends go through its compressor: a publish is sent as a message, not a ready frame. */
  readonly deflates: boolean;
  sendData(data: Uint8Array, isBinary: boolean, compress: boolean): number;
}

/**
 * Frames published in one turn of the loop leave each socket in one system call, as
 * uWS's corked publish does: a burst of events that arrives in one Redis reply went
 * out as one `write` per event per subscriber, and 40 events to 10K subscribers held
 * the loop for seconds (the bench's fan-out on this edge tripped load shedding).
 */
export class Topics {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly turnEnd = new TurnEnd<Subscriber>();

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

  publish(topic: string, message: string | Uint8Array, isBinary: boolean, compress = false): boolean {
    const set = this.subscribers.get(topic);
    if (!set) return true;
    const payload = typeof message === 'string' ? Buffer.from(message) : message;
    let frame: Buffer | undefined; // framed once, not once per subscriber
    for (const ws of set) {
      if (ws.deflates) {
        ws.sendData(payload, isBinary, compress);
        continue;
      }
      frame ??= serverFrame(payload, isBinary);
      this.hold(ws);
      ws.writeFrame(frame);
    }
    return true;
  }

  private hold(ws: Subscriber): void {
    if (ws.held) return;
    ws.hold();
    this.turnEnd.add(ws);
  }
}
