/**
 * Publishing as a backend does (POST /publish), in bulk or as a steady loop, and
 * the small waits integration tests need. Every wait is bounded.
 */
import { randomUUID } from 'node:crypto';
import { compareEventIds, type PongFrame } from '../../src/shared/frames.ts';
import { publishHttp } from './gateway.ts';
import { ids, type TestClient } from './ws-client.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Publish `count` events, `concurrency` at a time; returns their IDs in log order. */
export async function publishMany(http: string, channel: string, count: number, concurrency = 8) {
  const published: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      published.push(await publishHttp(http, channel, { n }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return published.sort(compareEventIds);
}

/** Run `make` for 0..count-1, `batch` at a time (a crowd a 2-core box can open); results in index order. */
export async function inBatches<T>(
  count: number,
  batch: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += batch) {
    const running = Array.from({ length: Math.min(batch, count - start) }, (_, k) => make(start + k));
    results.push(...(await Promise.all(running)));
  }
  return results;
}

/**
 * A backend publishing one event at a time until stopped (or `limit` is reached), as
 * docs/protocol.md asks of one: each publish carries an idempotency key, and one whose
 * connection broke before its answer is sent again with it — stored once either way. A
 * kept-alive connection the server closes just as a request goes out on it (HTTP/1.1's
 * race, which a process exiting after its drain opens) breaks a POST that no client can
 * tell was read; an answer (a 503 included) is never retried here.
 */
export class PublishLoop {
  readonly ids: string[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private http: () => string,
    channel: string,
    options: { limit?: number; pauseMs?: number } = {},
  ) {
    const { limit = Number.POSITIVE_INFINITY, pauseMs = 2 } = options;
    const run = randomUUID().slice(0, 8);
    this.done = (async () => {
      while (!this.stopped && this.ids.length < limit) {
        const n = this.ids.length;
        this.ids.push(await sentAgainIfCut(() => publishHttp(this.http(), channel, { n }, `${run}-${n}`)));
        if (pauseMs > 0) await sleep(pauseMs);
      }
    })();
    // A failed publish fails whoever awaits finished() or stop(): not a rejection left unheard
    // while the test still runs.
    this.done.catch(() => {});
  }

  /** Resolves with every published ID once `limit` is reached. */
  finished(): Promise<string[]> {
    return this.done.then(() => this.ids);
  }

  /** Stop after the publish in flight; resolves with every published ID. */
  stop(): Promise<string[]> {
    this.stopped = true;
    return this.finished();
  }
}

/** `publish` again, up to 3 times, while its connection breaks before an answer (fetch's TypeError). */
async function sentAgainIfCut(publish: () => Promise<string>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await publish();
    } catch (error) {
      if (!(error instanceof TypeError) || attempt >= 3) throw error;
      await sleep(50);
    }
  }
}

/** Poll `probe` until it returns a truthy value; rejects after `timeoutMs`. */
export async function eventually<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

let pings = 0;
/**
 * A round trip on the socket: everything the gateway queued for this client before
 * the pong has arrived, so a duplicate sent late would be in `client.frames` now.
 */
export async function settle(client: TestClient): Promise<void> {
  const ts = ++pings;
  client.send({ type: 'ping', ts });
  await client.next((f): f is PongFrame => f.type === 'pong' && f.ts === ts);
}

export const lastId = (ids: string[]) => ids[ids.length - 1] as string;

/**
 * Whether a client that heard `before` on `channel`, then resumed on `client`, got
 * exactly `published`: every event once, in order (waits for the rest to arrive).
 */
export async function heardEachOnceInOrder(
  before: string[],
  client: TestClient,
  channel: string,
  published: string[],
): Promise<boolean> {
  await client.waitForEvents(published.length - before.length, channel, 20_000);
  await settle(client);
  const all = [...before, ...ids(client.events(channel))];
  return all.length === published.length && all.every((id, k) => id === published[k]);
}
