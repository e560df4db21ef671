/**
 * Open `count` clients, `concurrency` at a time, until done or the deadline: the
 * connect loop every client group of a generator uses. Clients the deadline left
 * unattempted count as failed.
 */
import type { ConnectReply } from './commands.ts';

export async function connectMany(
  count: number,
  concurrency: number,
  timeoutMs: number,
  /** Open client `n` (0-based); `deadline` is epoch ms. Rejects when it could not connect. */
  open: (n: number, deadline: number) => Promise<void>,
): Promise<ConnectReply> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const n = next++;
      try {
        await open(n, deadline);
        connected++;
      } catch (error) {
        failed++;
        firstError ??= String((error as Error).message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  failed += count - next; // never attempted: the deadline passed
  return { connected, failed, firstError, ms: performance.now() - started };
}
