/**
 * A backend publishing to a Tether channel through `POST /publish` at a steady
 * rate, one request at a time, for as long as a scenario needs — including while
 * the gateway is down, when requests fail and are simply counted. An event counts
 * as published only when the gateway acknowledged it (it is then in Redis).
 */
import { sleep } from '../lib/timing.ts';

export interface PublisherOptions {
  httpUrl: string;
  apiKey: string;
  channel: string;
  ratePerS: number;
  /** Stop on its own after this long, whatever happens. */
  maxMs: number;
}

export interface PublisherTotals {
  acked: number;
  failed: number;
}

const REQUEST_TIMEOUT_MS = 2000;

export function startPublisher(options: PublisherOptions): { stop(): Promise<PublisherTotals> } {
  const totals: PublisherTotals = { acked: 0, failed: 0 };
  const intervalMs = 1000 / options.ratePerS;
  const deadline = Date.now() + options.maxMs;
  let stopped = false;
  const publishOne = async (n: number) => {
    try {
      const response = await fetch(`${options.httpUrl}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: options.channel, data: { n } }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) totals.acked++;
      else totals.failed++;
    } catch {
      totals.failed++; // gateway down or restarting: the event was never accepted
    }
  };
  const loop = (async () => {
    for (let n = 0; !stopped && Date.now() < deadline; n++) {
      const started = performance.now();
      await publishOne(n);
      await sleep(Math.max(0, intervalMs - (performance.now() - started)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ...totals };
    },
  };
}
