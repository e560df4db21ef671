/**
 * The SDK (bundled for the run: test/support/global-process-bundles.ts) in a Node process of
 * its own, driven over stdin: only a process's exit shows what still holds its event loop
 * after `disconnect()`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long disconnect() waits for the exit. */
const GIVE_UP_MS = 15_000;

// Commands, one a line: `connect`; `state` prints the client's detailedState; `disconnect`
// disconnects (`connect, disconnect`: connect(), and disconnect() on the next turn, while the
// socket's implementation may still be loading), and the process prints how long after that it
// exits.
const SCRIPT = `
const { TetherClient } = await import(process.env.SDK);
const { createInterface } = await import('node:readline');
const client = new TetherClient({ url: process.env.URL, token: process.env.TOKEN, ...JSON.parse(process.env.OPTIONS) });
const lines = createInterface({ input: process.stdin });
const disconnect = () => {
  client.disconnect();
  const at = Date.now();
  process.on('exit', () => console.log(Date.now() - at));
  lines.close();
  process.stdin.destroy();
};
lines.on('line', (line) => {
  if (line.startsWith('connect')) client.connect();
  if (line === 'state') console.log(JSON.stringify(client.detailedState));
  if (line === 'disconnect') disconnect();
  if (line === 'connect, disconnect') setImmediate(disconnect);
});`;

export interface SdkProcess {
  connect(): void;
  /** The client's detailedState, as JSON. */
  state(): Promise<unknown>;
  /**
   * disconnect() (on the turn after connect(), with `connectFirst`); resolves with the
   * ms from it to the process's exit, or Infinity when it has not exited after GIVE_UP_MS.
   */
  disconnect(connectFirst?: boolean): Promise<number>;
  kill(): void;
}

export function sdkProcess(url: string, token: string, options: Record<string, unknown> = {}): SdkProcess {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      SDK: inject('processBundles').sdk,
      URL: url,
      TOKEN: token,
      OPTIONS: JSON.stringify(options),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  return {
    connect: () => child.stdin.write('connect\n'),
    async state() {
      child.stdin.write('state\n');
      return JSON.parse(await next());
    },
    async disconnect(connectFirst = false) {
      child.stdin.write(connectFirst ? 'connect, disconnect\n' : 'disconnect\n');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = new Promise<number>((resolve) => {
        timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), GIVE_UP_MS);
      });
      const exited = await Promise.race([next().then(Number), gaveUp]);
      clearTimeout(timer);
      return exited;
    },
    kill: () => child.kill('SIGKILL'),
  };
}
