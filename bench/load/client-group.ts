/**
 * A named set of clients in one generator process, connected together and driven
 * together. Counts what its clients receive; a scenario's driver decides what a
 * relayed payload triggers (record a latency, send the next message, ...).
 */

import { nowMs, sleep } from '../lib/timing.ts';
import type { ClientKind } from '../systems/system.ts';
import type { BenchClient } from './clients/bench-client.ts';
import { connectClient } from './clients/connect-client.ts';
import type { CloseReply, ConnectCommand, ConnectReply } from './commands.ts';
import { connectMany } from './connect-many.ts';

export type RelayHandler = (index: number, payload: string) => void;

export class ClientGroup {
  readonly clients: (BenchClient | undefined)[] = [];
  relayed = 0;
  delivered = 0;
  lastDeliveryAt = 0;
  /** Σ bytesRead of the clients at the last reset. */
  private bytesAtReset = 0;
  /** Set by the running relay driver; relayed payloads are only counted otherwise. */
  onRelay: RelayHandler | undefined;

  constructor(readonly kind: ClientKind) {}

  /** Connected clients with their index (the index `onRelay` receives). */
  openClients(): [number, BenchClient][] {
    const open: [number, BenchClient][] = [];
    this.clients.forEach((client, i) => {
      if (client?.isOpen) open.push([i, client]);
    });
    return open;
  }

  /** Why the group's closed clients ended (close code and reason, or an error frame's code), counted. */
  closeReasons(): Record<string, number> {
    const reasons: Record<string, number> = {};
    for (const client of this.clients) {
      if (!client || client.isOpen) continue;
      const why = summarizeEnd(client.endedBecause);
      reasons[why] = (reasons[why] ?? 0) + 1;
    }
    return reasons;
  }

  resetCounts(): void {
    this.relayed = 0;
    this.delivered = 0;
    this.lastDeliveryAt = 0;
    this.bytesAtReset = this.totalBytesRead();
  }

  /** Bytes the group's sockets read since the last reset. */
  bytesReadSinceReset(): number {
    return this.totalBytesRead() - this.bytesAtReset;
  }

  private totalBytesRead(): number {
    let bytes = 0;
    for (const client of this.clients) bytes += client?.bytesRead?.() ?? 0;
    return bytes;
  }

  connect(command: ConnectCommand): Promise<ConnectReply> {
    return connectMany(command.count, command.concurrency, command.timeoutMs, async (n, deadline) => {
      const index = this.clients.length;
      this.clients.push(undefined);
      this.clients[index] = await connectClient(
        command.kind,
        {
          url: command.url,
          localAddress: command.sourceAddresses[n % command.sourceAddresses.length] as string,
          userId: `${command.userPrefix}-${index}`,
          jwtSecret: command.jwtSecret,
          subscribe: command.subscribe,
          relay: command.relay,
          idempotencyKeys: command.idempotencyKeys,
          wire: command.wire,
          timeoutMs: Math.max(1000, deadline - Date.now()),
        },
        {
          relayed: (payload) => {
            this.relayed++;
            this.onRelay?.(index, payload);
          },
          delivered: () => {
            this.delivered++;
            this.lastDeliveryAt = nowMs();
          },
        },
      );
    });
  }

  /** Close every client; those not closed within `timeoutMs` are dropped. */
  async close(timeoutMs: number): Promise<CloseReply> {
    const open = this.clients.filter((c): c is BenchClient => c !== undefined);
    const closing = Promise.all(open.map((c) => c.close().catch(() => {})));
    await Promise.race([closing, sleep(timeoutMs)]);
    for (const client of open) if (client.isOpen) client.terminate();
    this.clients.length = 0;
    return { closed: open.length };
  }
}

/** "close 1013 LOAD_SHED" from a client's end record, without per-client details. */
function summarizeEnd(endedBecause: string | undefined): string {
  if (!endedBecause) return 'closed (no reason recorded)';
  const code = /"code":"([A-Z_]+)"/.exec(endedBecause)?.[1];
  const close = /close (\d+)/.exec(endedBecause)?.[1];
  return [close ? `close ${close}` : undefined, code].filter(Boolean).join(' ') || endedBecause.slice(0, 60);
}
