/**
 * `npm run soak [-- --minutes 60] [-- --short]`: an hour-scale churn against one gateway
 * process — clients connect, subscribe, publish, drop, resume and leave, over and over —
 * sampling the gateway's RSS, heap and open file descriptors (and Redis memory), then
 * fitting a line to each: a leak shows as a slope per hour. A set of witness clients that
 * drop and resume all along is checked at the end like a chaos scenario.
 */
import { Redis } from 'ioredis';
import { ChaosClient } from './lib/chaos-client.ts';
import { checkClient, totals } from './lib/checker.ts';
import { gatewayEnv, mintToken, newPrefix } from './lib/identity.ts';
import { linearFit, openFds, rssBytes } from './lib/proc-stats.ts';
import { ChaosGateway, ChaosRedis } from './lib/processes.ts';
import { flag, option, progress, sleep, waitUntil } from './lib/progress.ts';
import { Publisher } from './lib/publisher.ts';
import { type SoakSample, writeSoakReport } from './lib/soak-report.ts';

const short = flag('short');
const settings = {
  minutes: Number(option('minutes', 'SOAK_MINUTES', short ? '2' : '60')),
  churners: Number(option('clients', 'SOAK_CLIENTS', '40')),
  witnesses: 10,
  channels: 10,
  publishPerSecond: 50,
  sampleEverySeconds: short ? 2 : 10,
};
const channels = Array.from({ length: settings.channels }, (_, i) => `soak:${i}`);
const random = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

progress(
  `soak: ${settings.minutes} min, ${settings.churners} churning clients + ${settings.witnesses} witnesses`,
);
const redis = await ChaosRedis.start(false);
const gateway = await ChaosGateway.create('soak-gw', (port) =>
  gatewayEnv(redis.url, port, newPrefix(), { RATE_CONNECT_PER_USER: '0', LOG_LEVEL: 'warn' }),
);
await gateway.start();
const pid = gateway.pid!;
const redisClient = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
await redisClient.connect();
const publisher = new Publisher(() => [gateway.http], channels, settings.publishPerSecond, 2);
const witnesses: ChaosClient[] = [];
for (let i = 0; i < settings.witnesses; i++) {
  const mine = [channels[i % channels.length]!, channels[(i + 3) % channels.length]!];
  witnesses.push(new ChaosClient(`w${i}`, [gateway.url], await mintToken(`witness-${i}`), mine));
}
for (const w of witnesses) w.start();
await waitUntil(() => witnesses.every((w) => w.subscribed), 30_000);
publisher.start();

const startedAt = Date.now();
const endAt = startedAt + settings.minutes * 60_000;
const samples: SoakSample[] = [];
const counters = { sessions: 0, drops: 0, resumes: 0, socketPublishes: 0 };

async function sample(): Promise<void> {
  const heap = await fetch(`${gateway.http}/metrics`, { signal: AbortSignal.timeout(5000) })
    .then((r) => r.text())
    .then((text) => Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN))
    .catch(() => Number.NaN);
  const info = await redisClient.info('memory').catch(() => '');
  samples.push({
    minutes: (Date.now() - startedAt) / 60_000,
    rssMb: (rssBytes(pid) ?? Number.NaN) / 2 ** 20,
    heapMb: heap / 2 ** 20,
    fds: openFds(pid) ?? Number.NaN,
    redisMb: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN) / 2 ** 20,
  });
}

/** One churning client's life, over and over: connect, subscribe, publish, drop and resume a few times, leave. */
async function churn(index: number): Promise<void> {
  const token = await mintToken(`churn-${index}`);
  while (Date.now() < endAt) {
    const mine = [channels[Math.floor(Math.random() * channels.length)]!];
    const client = new ChaosClient(`c${index}`, [gateway.url], token, mine);
    counters.sessions++;
    client.start();
    for (let round = Math.floor(random(1, 4)); round > 0 && Date.now() < endAt; round--) {
      await waitUntil(() => client.subscribed, 10_000);
      for (let k = Math.floor(random(0, 4)); k > 0; k--)
        if (client.publish(mine[0]!, { churn: index })) counters.socketPublishes++;
      await sleep(random(500, 3000));
      client.goOffline();
      counters.drops++;
      await sleep(random(0, 1500));
      client.goOnline();
      counters.resumes++;
    }
    await waitUntil(() => client.subscribed, 10_000);
    client.stop();
  }
}

await sample();
const sampler = setInterval(() => void sample(), settings.sampleEverySeconds * 1000);
const witnessChurn = setInterval(() => {
  const w = witnesses[Math.floor(Math.random() * witnesses.length)]!;
  w.goOffline();
  setTimeout(() => w.goOnline(), random(200, 2000));
}, 3000);
const ticker = setInterval(() => {
  const s = samples.at(-1);
  progress(
    `  ${((Date.now() - startedAt) / 60_000).toFixed(1)}/${settings.minutes} min: ${counters.sessions} sessions, ${counters.drops} drops, ` +
      `${publisher.acked.length} acked; RSS ${s?.rssMb.toFixed(0)} MB, heap ${s?.heapMb.toFixed(0)} MB, ${s?.fds} fds`,
  );
}, 30_000);
await Promise.all(Array.from({ length: settings.churners }, (_, i) => churn(i)));
clearInterval(sampler); // the fit covers the churn only, not the quiet end
clearInterval(witnessChurn);
clearInterval(ticker);
await publisher.stop();
await sleep(3000); // witnesses that were dropped last come back
const last = publisher.lastAcked();
await waitUntil(
  () => witnesses.every((w) => w.channels.every((c) => !last.has(c) || w.positions.get(c) === last.get(c))),
  30_000,
);
for (const w of witnesses) w.stop();
const alive = gateway.alive;
redisClient.disconnect();
await gateway.stop();
await redis.stop();

const warm = samples.filter((s) => s.minutes >= Math.min(1, settings.minutes / 5)); // skip the warm-up
const slopeOf = (pick: (s: SoakSample) => number) => {
  const { slope, r2 } = linearFit(
    warm.map((s) => [s.minutes / 60, pick(s)]).filter(([, y]) => Number.isFinite(y)) as [number, number][],
  );
  return { perHour: slope, r2 };
};
const slopes = {
  rssMb: slopeOf((s) => s.rssMb),
  heapMb: slopeOf((s) => s.heapMb),
  fds: slopeOf((s) => s.fds),
  redisMb: slopeOf((s) => s.redisMb),
};
const witnessTotals = totals(witnesses.map((w) => checkClient(w, publisher.acked)));
const ok = alive && witnessTotals.lostSilently + witnessTotals.duplicates + witnessTotals.outOfOrder === 0;
const files = writeSoakReport({
  settings,
  counters,
  samples,
  slopes,
  witnessTotals,
  alive,
  acked: publisher.acked.length,
  fatal: gateway.fatal,
});
for (const [name, { perHour, r2 }] of Object.entries(slopes))
  progress(`  ${name}: ${perHour.toFixed(2)} per hour (R² ${r2.toFixed(2)})`);
progress(
  `  witnesses: ${witnessTotals.expected} deliveries checked, ${witnessTotals.lostSilently} lost silently, ${witnessTotals.duplicates} duplicated`,
);
for (const file of files) progress(`wrote ${file}`);
process.exit(ok ? 0 : 1);
