/** Waiting with a bound: every wait in the harness ends, by success or by deadline. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** High-resolution wall clock in epoch ms, comparable between processes on one host. */
export const nowMs = () => performance.timeOrigin + performance.now();

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Poll `check` every `everyMs` until it returns true; throws TimeoutError after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(everyMs);
  }
  if (await check()) return;
  throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** `promise`, or a TimeoutError after `timeoutMs`. */
export function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${what}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
