/**
 * What one idle connection holds in the gateway, measured without the noise of the full
 * bench: a real gateway in this process (real uWS edge, a private redis-server), real
 * WebSocket clients in a child process (hello with a JWT → welcome, then idle), and the
 * gateway's heap and RSS (less V8's young generation) after a forced full GC at a base load and again with N more
 * connections: (after − before) ÷ N. The base load keeps start-up costs (first connection's
 * code, pools) out of the figure. `--snapshot` writes a heap snapshot at each reading (to the OS temp dir) (compare
 * them in Chrome DevTools' Comparison view to see what each connection holds).
 *
 *   node --expose-gc --no-memory-reducer --import tsx bench/connection-memory.ts [N=5000] [--snapshot]
 *
 * Only on 127.0.0.1; every wait is bounded.
 */
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.ts';
import { startGateway } from '../src/gateway.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { mintToken } from './load/clients/tokens.ts';
import { BENCH_JWT_SECRET, BENCH_OVERRIDES } from './systems/tether.ts';

const BASE = 500;
const BATCH = 100;
const WAIT_MS = 120_000;
const SETTLE_READINGS = 15;

interface Open {
  url: string;
  count: number;
  from: number;
}

if (process.argv.includes('--clients')) runClients();
else await measure();

async function measure(): Promise<void> {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5000);
  const snapshot = process.argv.includes('--snapshot');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const redis = await startRedisServer();
  const config = loadConfig({
    ...BENCH_OVERRIDES,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: 'silent',
    MAX_CONNECTIONS: '100000', // as the bench's gateways (bench/systems/tether.ts): N past the default
  });
  const gateway = await startGateway(config, redis.url, pino({ level: 'silent' }));
  const url = `ws://127.0.0.1:${gateway.port}/ws`;
  const clients = fork(new URL(import.meta.url).pathname, ['--clients'], { execArgv: ['--import', 'tsx'] });
  const open = (count: number, from: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`clients not welcomed in ${WAIT_MS} ms`)), WAIT_MS);
      clients.once('message', (m) => {
        clearTimeout(timer);
        if (m === 'welcomed') resolve();
        else reject(new Error(String(m)));
      });
      clients.send({ url, count, from } satisfies Open);
    });
  const reading = async (label: string) => {
    // The handshakes' last Redis replies can still be on their way (a loaded box): read
    // until the live heap stops moving, at most SETTLE_READINGS seconds.
    let last = 0;
    for (let i = 0; i < SETTLE_READINGS; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      for (let j = 0; j < 3; j++) gc();
      const { heapUsed } = process.memoryUsage();
      if (Math.abs(heapUsed - last) < heapUsed * 0.002) break;
      last = heapUsed;
    }
    if (snapshot)
      console.log(
        `snapshot ${label}: ${writeHeapSnapshot(join(tmpdir(), `conn-memory-${label}.heapsnapshot`))}`,
      );
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    // V8 resizes its young generation on its own schedule (bench/systems/gc-on-signal.mjs): not the connections'.
    const young = getHeapSpaceStatistics()
      .filter((space) => space.space_name.startsWith('new_'))
      .reduce((sum, space) => sum + space.physical_space_size, 0);
    return { heapUsed, rss: rss - young, external: external - arrayBuffers };
  };
  try {
    await open(BASE, 0);
    const before = await reading('before');
    await open(n, BASE);
    const after = await reading('after');
    const kb = (key: keyof typeof before) => ((after[key] - before[key]) / n / 1024).toFixed(2);
    console.log(
      `${n} idle connections: heapUsed ${kb('heapUsed')} KB, rss (young generation excluded) ${kb('rss')} KB, ` +
        `external (not ArrayBuffers) ${kb('external')} KB per connection`,
    );
  } finally {
    clients.kill();
    await gateway.shutdown();
    await redis.stop();
  }
}

/** The child: opens connections on request, holds them, reports when all are welcomed. */
function runClients(): void {
  const held: WebSocket[] = [];
  const welcomed = async (url: string, userId: string) => {
    const hello = JSON.stringify({ type: 'hello', token: await mintToken(BENCH_JWT_SECRET, userId) });
    const ws = new WebSocket(url);
    held.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(hello));
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed ${code} before welcome`)));
      ws.on('message', (data) => {
        if (String(data).startsWith('{"type":"welcome"')) resolve();
      });
    });
  };
  process.on('message', async ({ url, count, from }: Open) => {
    try {
      for (let i = 0; i < count; i += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => from + i + j);
        await Promise.all(batch.map((k) => welcomed(url, `idle-${k}`)));
      }
      process.send?.('welcomed');
    } catch (error) {
      process.send?.(String(error));
    }
  });
}
