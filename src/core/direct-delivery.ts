/**
 * Live delivery socket by socket, for what the edge's topic publish cannot do
 * (the rest of a channel's subscribers stay on the topic, framed once for all):
 * - **ephemeral channels** (namespace `ephemeral`): each subscriber is offered the
 *   event, and a backed-up socket keeps only the newest per channel until it drains
 *   (`Connection.offer`), where a topic publish would count every one toward the
 *   slow-consumer cut (src/core/slow-consumers.ts);
 * - **batched delivery** (hello `batch`, or namespace `batch`): the socket's events
 *   of one loop turn leave as one `batch` frame (`Connection.sendBatched`).
 * The channel reader's fan-out (src/channels/fan-out.ts) hands every event to both.
 */
import type { Connection } from './connection.ts';

/** How a channel's events reach one socket. */
export interface LiveMode {
  /** Dropped, not buffered without bound, for a backed-up socket. */
  ephemeral: boolean;
  /** Coalesced per loop turn into `batch` frames. */
  batch: boolean;
}

export class DirectDelivery {
  private readonly channels = new Map<string, Map<Connection, LiveMode>>();

  /** Start live delivery of `channel` to `conn`: on the edge's topic unless `mode` needs it here. */
  goLive(conn: Connection, channel: string, mode: LiveMode): void {
    if (!mode.ephemeral && !mode.batch) {
      conn.goLive(channel);
      return;
    }
    let sockets = this.channels.get(channel);
    if (!sockets) {
      sockets = new Map();
      this.channels.set(channel, sockets);
    }
    sockets.set(conn, mode);
  }

  stopLive(conn: Connection, channel: string): void {
    conn.stopLive(channel);
    const sockets = this.channels.get(channel);
    if (!sockets?.delete(conn) || sockets.size > 0) return;
    this.channels.delete(channel);
  }

  /** The socket closed (the edge forgets its topics itself). */
  forget(conn: Connection): void {
    for (const channel of conn.subscriptions.keys()) this.stopLive(conn, channel);
  }

  /** Subscribers served here. */
  count(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  /**
   * Hand one frame of `channel` to the sockets served here; an ephemeral event's
   * (`droppable`) is offered, any other (a join/leave) is queued like a durable event.
   */
  deliver(channel: string, text: string, droppable: boolean): void {
    const sockets = this.channels.get(channel);
    if (!sockets) return;
    for (const [conn, mode] of sockets) {
      if (droppable) conn.offer(channel, text, mode.batch);
      else if (mode.batch) conn.sendBatched(text);
      else conn.sendSoon(text);
    }
  }
}
