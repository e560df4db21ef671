/**
 * Tether sockets held by the bench process itself, for the presence scenario: it
 * needs what the load generators do not offer — subscribe and unsubscribe an
 * already connected group on command, and count the `membership` frames each socket
 * gets. 10K sockets fit in one process (RLIMIT_NOFILE 20000). Every wait is bounded.
 */
import WebSocket from 'ws';
import { allocateSourceAddresses } from '../../lib/source-addresses.ts';
import { withTimeout } from '../../lib/timing.ts';
import { generatorSocketOptions } from './bench-client.ts';
import { mintToken } from './tokens.ts';

interface Member {
  ws: WebSocket;
  /** Answers awaited, by `subscribed:<channel>` / `unsubscribed:<channel>`. */
  waiting: Map<string, () => void>;
}

export class MemberGroup {
  /** Frames received per type since the last reset, over every socket. */
  readonly received = { membership: 0, event: 0 };
  private constructor(private readonly members: Member[]) {}

  get size(): number {
    return this.members.length;
  }

  static async connect(url: string, secret: string, count: number, userPrefix: string): Promise<MemberGroup> {
    const group = new MemberGroup([]);
    const addresses = allocateSourceAddresses(count);
    const batch = 200;
    for (let i = 0; i < count; i += batch) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(batch, count - i) }, (_, j) =>
          group.open(url, secret, `${userPrefix}-${i + j}`, addresses[(i + j) % addresses.length] as string),
        ),
      );
      group.members.push(...opened);
    }
    return group;
  }

  /** Send `subscribe` (or `unsubscribe`) on every socket at once; resolves when each is answered. */
  async all(type: 'subscribe' | 'unsubscribe', channel: string, timeoutMs = 120_000): Promise<void> {
    const key = `${type}d:${channel}`;
    const answered = this.members.map(
      (member) => new Promise<void>((resolve) => member.waiting.set(key, resolve)),
    );
    const frame = JSON.stringify({ type, channel });
    for (const member of this.members) member.ws.send(frame);
    await withTimeout(`${this.size} ${type}s of ${channel}`, Promise.all(answered), timeoutMs);
  }

  /** Resolves once the sockets together received `count` events. */
  async events(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.event < count) {
      if (Date.now() > deadline) throw new Error(`${this.received.event} of ${count} events arrived`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  reset(): void {
    this.received.membership = 0;
    this.received.event = 0;
  }

  close(): void {
    for (const member of this.members) member.ws.terminate();
    this.members.length = 0;
  }

  private async open(url: string, secret: string, userId: string, localAddress: string): Promise<Member> {
    const token = await mintToken(secret, userId);
    const ws = new WebSocket(url, generatorSocketOptions(localAddress));
    const member: Member = { ws, waiting: new Map() };
    const welcomed = new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token, client: { name: 'bench' } })));
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed ${code} before welcome`)));
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('{"type":"event"')) this.received.event++;
        else if (text.startsWith('{"type":"membership"')) this.received.membership++;
        else if (text.startsWith('{"type":"welcome"')) resolve();
        else {
          const frame = JSON.parse(text) as { type: string; channel?: string };
          member.waiting.get(`${frame.type}:${frame.channel}`)?.();
        }
      });
    });
    await withTimeout(`welcome for ${userId}`, welcomed, 30_000);
    return member;
  }
}
