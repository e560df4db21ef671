/**
 * What one connection flooding frames past its rate limit costs the others: a real gateway
 * in this process (its default limits, logging at info to a file, as a production gateway
 * logs), one child process with a well-behaved neighbour pinging every 50 ms for the whole
 * run, and another that, after 2 s, sends pings as fast as its socket drains for 5 s. The
 * neighbour's round trips before and during the flood, the flooder's end, the gateway's CPU
 * and the log lines written during the flood.
 *
 *   node --import tsx bench/flood-neighbour.ts
 *
 * Only on 127.0.0.1; every loop is bounded in time.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destination, pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/config.ts';
import { startGateway } from '../src/gateway.ts';
import { startRedisServer } from '../src/redis/embedded-redis.ts';
import { percentile } from './lib/stats.ts';
import { mintToken } from './load/clients/tokens.ts';
import { BENCH_JWT_SECRET } from './systems/tether.ts';

const QUIET_MS = 2000;
const FLOOD_MS = 5000;
const PING_EVERY_MS = 50;

interface Order {
  role: 'neighbour' | 'flooder';
  url: string;
}

const role = process.argv[2];
if (role === 'neighbour' || role === 'flooder') await runChild(role);
else await measure();

async function measure(): Promise<void> {
  const redis = await startRedisServer();
  const logFile = join(mkdtempSync(join(tmpdir(), 'tether-flood-')), 'gateway.log');
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: 'info',
  });
  const logger = pino({ level: 'info' }, destination({ dest: logFile, sync: true }));
  const gateway = await startGateway(config, redis.url, logger);
  const url = `ws://127.0.0.1:${gateway.port}/ws`;
  const start = (which: Order['role']) => {
    const child = fork(new URL(import.meta.url).pathname, [which], { execArgv: ['--import', 'tsx'] });
    child.send({ role: which, url } satisfies Order);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`${which} exited ${code}`)));
    });
  };
  try {
    const neighbour = start('neighbour');
    const flooder = start('flooder');
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const lines = () => readFileSync(logFile, 'utf8').split('\n').length;
    const linesBefore = lines();
    const cpuBefore = process.cpuUsage();
    const flood = await flooder;
    const cpu = process.cpuUsage(cpuBefore);
    const linesDuring = lines() - linesBefore;
    const rtt = (await neighbour) as { before: number[]; during: number[] };
    const show = (ms: number[]) =>
      `p50 ${percentile(ms, 50).toFixed(1)} / p99 ${percentile(ms, 99).toFixed(1)} / max ${Math.max(...ms).toFixed(1)} ms (${ms.length})`;
    console.log(`neighbour round trip before the flood: ${show(rtt.before)}`);
    console.log(`neighbour round trip during the flood: ${show(rtt.during)}`);
    console.log(
      `flooder: ${flood.sent} frames sent, ${flood.answered} answered, ended ${flood.end}; ` +
        `gateway CPU over the flood ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; ` +
        `${linesDuring} log lines written`,
    );
  } finally {
    await gateway.shutdown();
    await redis.stop();
  }
}

async function runChild(which: Order['role']): Promise<void> {
  const order = await new Promise<Order>((resolve) => process.once('message', (m) => resolve(m as Order)));
  const ws = new WebSocket(order.url);
  const token = await mintToken(BENCH_JWT_SECRET, which);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token })));
    ws.once('error', reject);
    ws.on('message', function welcome(data) {
      if (!String(data).startsWith('{"type":"welcome"')) return;
      ws.off('message', welcome);
      resolve();
    });
  });
  const startedAt = Date.now();
  if (which === 'neighbour') {
    const before: number[] = [];
    const during: number[] = [];
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; ts?: number };
      if (frame.type !== 'pong' || frame.ts === undefined) return;
      (frame.ts - startedAt < QUIET_MS ? before : during).push(Date.now() - frame.ts);
    });
    while (Date.now() - startedAt < QUIET_MS + FLOOD_MS) {
      ws.send(JSON.stringify({ type: 'ping', ts: Date.now() }));
      await new Promise((r) => setTimeout(r, PING_EVERY_MS));
    }
    await new Promise((r) => setTimeout(r, 1000)); // the last answers
    process.send?.({ before, during });
  } else {
    let answered = 0;
    let end = 'open at the end';
    ws.on('message', () => answered++);
    ws.on('close', (code, reason) => {
      end = `closed ${code} ${reason} after ${Date.now() - startedAt - QUIET_MS} ms`;
    });
    await new Promise((r) => setTimeout(r, QUIET_MS));
    let sent = 0;
    const frame = JSON.stringify({ type: 'ping' });
    while (Date.now() - startedAt < QUIET_MS + FLOOD_MS && ws.readyState === WebSocket.OPEN) {
      // As fast as the socket drains: a few hundred frames, then let the loop write them.
      for (let i = 0; i < 500 && ws.bufferedAmount < 1 << 20; i++, sent++) ws.send(frame);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 500));
    process.send?.({ sent, answered, end });
  }
  ws.terminate();
  process.exit(0);
}
