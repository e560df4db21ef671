/** Progress lines on stderr, stamped with seconds since start, so a long run shows where it is. */
const started = Date.now();

export function progress(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `done` every `everyMs` until it is true or `timeoutMs` passed; true when it became true. */
export async function waitUntil(done: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Read `--name value` / `--flag` from argv, with an environment variable as a fallback. */
export function option(name: string, env: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0) return process.argv[at + 1] ?? '';
  return process.env[env] ?? fallback;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
