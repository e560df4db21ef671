/**
 * Process-to-process notices over Redis pub/sub. Each gateway process listens on
 * its own channel (`<prefix>:ctl:<nodeId>`), so another process can tell it "this
 * session moved to me", and on the broadcast channel (`<prefix>:ctl`), where the
 * backend's orders (src/control/) reach every process. "Session moved" notices are
 * hints that tidy up sooner; correctness never depends on them (session writes are
 * ownership-checked in Redis). An order whose effect must hold even where no process
 * hears it (a final disconnect, a block) is also written to Redis by whoever issues it.
 */

import type { ControlOrder } from '../control/control-order.ts';
import type { SessionNotices } from '../core/ports/session-store.ts';
import type { Logger } from '../observability/logger.ts';
import type { RedisConnection } from './redis-target.ts';

export type ControlNotice =
  | { type: 'session.taken'; sessionId: string; byNode: string }
  | { type: 'order'; order: ControlOrder; byNode: string }
  /** A POST to /sse/frames that reached this process for another's stream (src/edge/sse/). */
  | { type: 'sse.frames'; token: string; seq?: number; body: string };

export class ControlBus implements SessionNotices {
  private readonly handlers: ((notice: ControlNotice) => void)[] = [];

  constructor(
    private readonly publisher: RedisConnection,
    /** Shared with other listeners (presence): only this bus's channels are read here. */
    private readonly subscriber: RedisConnection,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const mine = new Set([this.channelOf(this.nodeId), this.broadcastChannel()]);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (!mine.has(channel)) return;
      try {
        const notice = JSON.parse(message) as ControlNotice;
        for (const handler of this.handlers) handler(notice);
      } catch (error) {
        this.logger.warn({ err: error }, 'control bus: bad notice');
      }
    });
    await this.subscriber.subscribe(...mine);
  }

  on(handler: (notice: ControlNotice) => void): void {
    this.handlers.push(handler);
  }

  sessionTaken(previousNodeId: string, sessionId: string): void {
    this.send(previousNodeId, { type: 'session.taken', sessionId, byNode: this.nodeId });
  }

  send(nodeId: string, notice: ControlNotice): void {
    if (nodeId === this.nodeId) return;
    this.publisher.publish(this.channelOf(nodeId), JSON.stringify(notice)).catch(() => {});
  }

  /** To `nodeId` only; resolves with how many processes heard it (0: that process is gone). */
  relay(nodeId: string, notice: ControlNotice): Promise<number> {
    return this.publisher.publish(this.channelOf(nodeId), JSON.stringify(notice));
  }

  /** To every process, this one included; resolves with how many processes heard it. */
  broadcast(order: ControlOrder): Promise<number> {
    const notice: ControlNotice = { type: 'order', order, byNode: this.nodeId };
    return this.publisher.publish(this.broadcastChannel(), JSON.stringify(notice));
  }

  private channelOf(nodeId: string): string {
    return `${this.prefix}:ctl:${nodeId}`;
  }

  private broadcastChannel(): string {
    return `${this.prefix}:ctl`;
  }
}
