/**
 * A backend publishing over HTTP (`POST /publish`, docs/protocol.md §10) at a steady
 * rate, round-robin over channels, and recording every event the gateway acknowledged
 * (200 with an ID). A request that timed out or lost its connection has an unknown
 * outcome: it is counted, never retried with the same payload and never expected.
 */
import { compareEventIds } from '../../src/shared/identifiers.ts';
import { CHAOS_API_KEY } from './identity.ts';
import { sleep } from './progress.ts';

const REQUEST_TIMEOUT_MS = 3000;

export interface AckedEvent {
  channel: string;
  id: string;
  n: number;
  at: number;
}

export class Publisher {
  readonly acked: AckedEvent[] = [];
  refused = 0;
  unknown = 0;
  readonly statuses = new Map<string, number>();
  private sent = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private gatewayIndex = 0;

  constructor(
    private readonly gateways: () => string[],
    private readonly channels: string[],
    private readonly perSecond: number,
    private readonly inFlight = 4,
  ) {}

  start(): void {
    this.running = true;
    const pauseMs = (1000 * this.inFlight) / this.perSecond;
    this.loops = Array.from({ length: this.inFlight }, async (_, worker) => {
      await sleep((pauseMs * worker) / this.inFlight);
      while (this.running) {
        const began = Date.now();
        await this.publishOne();
        await sleep(Math.max(0, pauseMs - (Date.now() - began)));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The newest acknowledged ID per channel: where a converged subscriber must have got to. */
  lastAcked(): Map<string, string> {
    const last = new Map<string, string>();
    for (const { channel, id } of this.acked) {
      // Acks of concurrent requests arrive out of ID order: keep the greatest.
      const current = last.get(channel);
      if (current === undefined || compareEventIds(id, current) > 0) last.set(channel, id);
    }
    return last;
  }

  private async publishOne(): Promise<void> {
    const n = this.sent++;
    const channel = this.channels[n % this.channels.length]!;
    const targets = this.gateways();
    const http = targets[this.gatewayIndex % targets.length]!;
    try {
      const response = await fetch(`${http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CHAOS_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: { n } }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json()) as { id?: string };
      this.count(String(response.status));
      if (response.status === 200 && body.id) this.acked.push({ channel, id: body.id, n, at: Date.now() });
      else {
        this.refused++;
        this.gatewayIndex++;
      }
    } catch (error) {
      this.count((error as Error).name === 'TimeoutError' ? 'timeout' : 'network error');
      this.unknown++;
      this.gatewayIndex++;
      await sleep(100);
    }
  }

  private count(status: string): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }
}
