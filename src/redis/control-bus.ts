/**
 * Process-to-process notices over Redis pub/sub. Each gateway process listens on
 * its own channel (`<prefix>:ctl:<nodeId>`), so another process can tell it "this
 * session moved to me", and on the broadcast channel (`<prefix>:ctl`), where the
 * backend's orders (src/control/) reach every process. "Session moved" notices are
 * hints that tidy up sooner; correctness never depends on them (session writes are
 * ownership-checked in Redis). An order whose effect must hold even where no process
 * hears it (a final disconnect, a block) is also written to Redis by whoever issues it.
 * A notice that needs a yes or no back (an SSE POST passed on: did its stream take it?)
 * is sent with `ask`, and answered on the asker's own channel.
 *
 * One process per node ID: a second one under the same NODE_ID would take the first's
 * notices and, through the admission queue named by the ID, its waiters. A starting
 * process calls the roll (`nodeIdHolder`) before it listens, and refuses to start when
 * a live process answers to its ID.
 */

import { randomUUID } from 'node:crypto';
import type { ControlOrder } from '../control/control-order.ts';
import type { SessionNotices } from '../core/ports/session-store.ts';
import type { Logger } from '../observability/logger.ts';
import { isCluster, type RedisConnection } from './redis-target.ts';

/** Set on a notice sent with `ask`: whom to answer, and the question's ID. */
export interface Question {
  replyTo?: string;
  id?: string;
}

export type ControlNotice =
  /** `connectionId`: the connection the taker replaced there (absent from older processes). */
  | { type: 'session.taken'; sessionId: string; byNode: string; connectionId?: string }
  | { type: 'order'; order: ControlOrder; byNode: string }
  /**
   * A POST to /sse/frames that reached this process for another's stream (src/edge/sse/):
   * its frames, or (`tooLarge`) that it was refused for its size. Asked: the answer says
   * whether the process still held the stream, or `refused` when it did and refused the POST.
   */
  | ({ type: 'sse.frames'; token: string; seq?: number; body: string; tooLarge?: true } & Question)
  | { type: 'answer'; id: string; yes: Reply }
  /** A starting process asks whether one already runs under its node ID (`nodeIdHolder`). */
  | ({ type: 'roll-call' } & Question);

/** What the bus's listeners get (answers go to whoever asked). */
export type HandledNotice = Exclude<ControlNotice, { type: 'answer' } | { type: 'roll-call' }>;

/** How long `ask` waits for the other process's answer. */
const ANSWER_WITHIN_MS = 2000;

/** A process's answer to a question: yes, no, or yes-but-refused (it says why elsewhere). */
export type Reply = boolean | 'refused';

/** What `ask` learned: the process's answer, or that none came (gone: no process listened). */
export type Answer = Reply | 'gone' | 'no answer';

export class ControlBus implements SessionNotices {
  private readonly handlers: ((notice: HandledNotice) => void)[] = [];
  /** Questions sent with `ask`, by ID: how to take their answer. */
  private readonly asked = new Map<string, (answer: Answer) => void>();
  /**
   * Whether PUBLISH's count says how many processes heard: on a cluster it counts the
   * listeners of the node that took it alone, while the cluster bus carries the message
   * to the rest, so there 0 proves nothing.
   */
  private readonly countsListeners: boolean;
  /** The channels this bus reads (others on the shared subscriber are someone else's). */
  private readonly mine = new Set<string>();

  constructor(
    private readonly publisher: RedisConnection,
    /** Shared with other listeners (presence): only this bus's channels are read here. */
    private readonly subscriber: RedisConnection,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.countsListeners = !isCluster(publisher);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (!this.mine.has(channel)) return;
      try {
        const notice = JSON.parse(message) as ControlNotice;
        if (notice.type === 'answer') this.asked.get(notice.id)?.(notice.yes);
        else if (notice.type === 'roll-call') this.answer(notice, true);
        else for (const handler of this.handlers) handler(notice);
      } catch (error) {
        this.logger.warn({ err: error }, 'control bus: bad notice');
      }
    });
  }

  async start(): Promise<void> {
    this.mine.add(this.channelOf(this.nodeId)).add(this.broadcastChannel());
    await this.subscriber.subscribe(...this.mine);
  }

  /**
   * Call the roll on this process's node ID, before it listens there (`start`). A live
   * process answers within ANSWER_WITHIN_MS; a listener that does not is a connection Redis
   * has not yet seen die (a host that vanished keeps its socket until TCP keepalive ends
   * it), or a process older than the roll call. With nobody listening: one round trip.
   */
  async nodeIdHolder(): Promise<NodeIdHolder> {
    if ((await listenersOf(this.publisher, this.channelOf(this.nodeId))) === 0) return 'none';
    const replyTo = `${this.nodeId}#${randomUUID()}`; // a channel of its own: nobody else hears the answer
    const replies = this.channelOf(replyTo);
    this.mine.add(replies);
    try {
      await this.subscriber.subscribe(replies);
      const answer = await this.ask(this.nodeId, { type: 'roll-call' }, replyTo);
      return answer === true ? 'live' : answer === 'gone' ? 'none' : 'silent';
    } finally {
      this.mine.delete(replies);
      await this.subscriber.unsubscribe(replies).catch(() => {});
    }
  }

  on(handler: (notice: HandledNotice) => void): void {
    this.handlers.push(handler);
  }

  sessionTaken(previousNodeId: string, sessionId: string, connectionId: string): void {
    this.send(previousNodeId, { type: 'session.taken', sessionId, byNode: this.nodeId, connectionId });
  }

  send(nodeId: string, notice: ControlNotice): void {
    if (nodeId === this.nodeId) return;
    this.publisher.publish(this.channelOf(nodeId), JSON.stringify(notice)).catch(() => {});
  }

  /**
   * To `nodeId` only, and its `Reply` (`answer`): 'gone' when no process listens there
   * (known at once on one Redis; on a cluster only as 'no answer'), 'no answer' when none
   * came within ANSWER_WITHIN_MS. Rejects when Redis refuses the publish.
   */
  async ask(nodeId: string, notice: ControlNotice & Question, replyTo = this.nodeId): Promise<Answer> {
    const id = randomUUID();
    const answered = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => settle('no answer'), ANSWER_WITHIN_MS);
      const settle = (answer: Answer) => {
        clearTimeout(timer);
        this.asked.delete(id);
        resolve(answer);
      };
      this.asked.set(id, settle);
    });
    const message = JSON.stringify({ ...notice, replyTo, id });
    const heard = await this.publisher.publish(this.channelOf(nodeId), message).catch((error: unknown) => {
      this.asked.get(id)?.('no answer'); // its timer cleared; the caller hears the error
      throw error;
    });
    if (heard === 0 && this.countsListeners) this.asked.get(id)?.('gone');
    return answered;
  }

  /** Answer a notice sent with `ask` (a notice sent otherwise needs none). */
  answer(question: Question, yes: Reply): void {
    if (question.replyTo && question.id)
      this.send(question.replyTo, { type: 'answer', id: question.id, yes });
  }

  /**
   * To every process, this one included; resolves with how many processes heard it, or
   * null on a cluster, where PUBLISH counts one node's listeners only.
   */
  async broadcast(order: ControlOrder): Promise<number | null> {
    const notice: ControlNotice = { type: 'order', order, byNode: this.nodeId };
    const heard = await this.publisher.publish(this.broadcastChannel(), JSON.stringify(notice));
    return this.countsListeners ? heard : null;
  }

  private channelOf(nodeId: string): string {
    return `${this.prefix}:ctl:${nodeId}`;
  }

  private broadcastChannel(): string {
    return `${this.prefix}:ctl`;
  }
}

/** Who else runs under a node ID: nobody, a live process, or a listener that did not answer. */
export type NodeIdHolder = 'none' | 'live' | 'silent';

/** Subscribers of `channel`: on a cluster a subscriber may be on any node, so every node is asked. */
async function listenersOf(redis: RedisConnection, channel: string): Promise<number> {
  const nodes = isCluster(redis) ? redis.nodes('all') : [redis];
  const counts = await Promise.all(
    nodes.map(async (node) => {
      const [, count] = (await node.pubsub('NUMSUB', channel)) as [string, number];
      return Number(count);
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}
