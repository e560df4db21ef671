/**
 * The reconnect-storm clients of one generator, and the figures the storm
 * scenario asks for: who is connected, who resumed and when, what was missed.
 */
import { StormClient } from './clients/storm-client.ts';
import { mintToken } from './clients/tokens.ts';
import type { ConnectReply, StormConnectCommand, StormStatsReply } from './commands.ts';
import { connectMany } from './connect-many.ts';

const BUCKET_MS = 250;

export class StormGroup {
  private readonly clients: StormClient[] = [];
  private readonly resumesPerBucket = new Map<number, number>();
  private lastResumedAt = 0;

  connect(command: StormConnectCommand): Promise<ConnectReply> {
    return connectMany(command.count, command.concurrency, command.timeoutMs, async (n) => {
      const client = new StormClient({
        url: command.url,
        localAddress: command.sourceAddresses[n % command.sourceAddresses.length] as string,
        token: await mintToken(command.jwtSecret, `${command.userPrefix}-${n}`),
        channel: command.channel,
        backoffMaxMs: command.backoffMaxMs,
        onResumed: (at) => {
          const bucket = Math.floor(at / BUCKET_MS) * BUCKET_MS;
          this.resumesPerBucket.set(bucket, (this.resumesPerBucket.get(bucket) ?? 0) + 1);
          this.lastResumedAt = Math.max(this.lastResumedAt, at);
        },
      });
      this.clients.push(client);
      await client.start();
    });
  }

  stats(expectedEvents: number): StormStatsReply {
    let connected = 0;
    let resumed = 0;
    let resumeFailed = 0;
    let missing = 0;
    let duplicates = 0;
    let clientsComplete = 0;
    let connectAttempts = 0;
    const disconnectedBecause: Record<string, number> = {};
    const socketEnds: Record<string, number> = {};
    for (const client of this.clients) {
      if (!client.connected) {
        const why = `${client.gaveUp ? 'gave up after ' : ''}${client.lastEnd ?? 'never connected'}`;
        disconnectedBecause[why] = (disconnectedBecause[why] ?? 0) + 1;
      }
      if (client.connected) connected++;
      if (client.resumed) resumed++;
      if (client.resumeFailed) resumeFailed++;
      missing += Math.max(0, expectedEvents - client.distinctEvents);
      if (client.distinctEvents >= expectedEvents) clientsComplete++;
      duplicates += client.duplicates;
      connectAttempts += client.connectAttempts;
      for (const [why, n] of client.ends) socketEnds[why] = (socketEnds[why] ?? 0) + n;
    }
    return {
      clients: this.clients.length,
      connected,
      resumed,
      resumeFailed,
      lastResumedAt: this.lastResumedAt,
      resumesPerBucket: Object.fromEntries(this.resumesPerBucket),
      missing,
      duplicates,
      clientsComplete,
      connectAttempts,
      disconnectedBecause,
      socketEnds,
    };
  }

  close(): void {
    for (const client of this.clients) client.stop();
    this.clients.length = 0;
  }
}
