/**
 * Process-to-process notices over Redis pub/sub: each gateway process listens on
 * its own channel, so another process can tell it "this session moved to me".
 * Notices are hints that tidy up sooner; correctness never depends on them
 * (session writes are ownership-checked in Redis).
 */
import type { Redis } from 'ioredis';
import type { SessionNotices } from '../core/ports/session-store.ts';
import type { Logger } from '../observability/logger.ts';

export type ControlNotice = { type: 'session.taken'; sessionId: string; byNode: string };

export class ControlBus implements SessionNotices {
  private readonly handlers: ((notice: ControlNotice) => void)[] = [];

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      try {
        const notice = JSON.parse(message) as ControlNotice;
        for (const handler of this.handlers) handler(notice);
      } catch (error) {
        this.logger.warn({ err: error }, 'control bus: bad notice');
      }
    });
    await this.subscriber.subscribe(this.channelOf(this.nodeId));
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

  private channelOf(nodeId: string): string {
    return `${this.prefix}:ctl:${nodeId}`;
  }
}
