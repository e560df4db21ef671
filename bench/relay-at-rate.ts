/**
 * `node --import tsx bench/relay-at-rate.ts [msgs/s] [--cpu-prof]`: Tether alone, as
 * `npm start` runs it, relaying 100 clients' messages at a fixed rate (2,000/s unless
 * given) — the relay scenario's fixed load without the other systems beside it — and its
 * server CPU per message (and its Redis's) in each of 3 trials of 5 s, median last. With
 * `--cpu-prof` the gateway is profiled and the shares of its busy time are printed
 * (bench/report/profile-summary.ts): where a message's cost goes when each arrives alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress } from './lib/progress.ts';
import { median, round, sum } from './lib/stats.ts';
import { GeneratorPool } from './load/generator-pool.ts';
import { summarizeProfiles } from './report/profile-summary.ts';
import { connectGroup, measure, type ScenarioContext } from './scenarios/scenario.ts';
import { startTether } from './systems/tether.ts';

const RATE = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000);
const PROFILE = process.argv.includes('--cpu-prof');
const CLIENTS = 100;
const TRIALS = 3;
const TRIAL_MS = 5000;
const GROUP = 'relay';

const profiles = mkdtempSync(join(tmpdir(), 'tether-relay-prof-'));
const system = await startTether(PROFILE ? { cpuProfDir: join(profiles, 'relay-at-rate') } : {});
const pool = await GeneratorPool.start(2);
try {
  const ctx = { pool } as ScenarioContext;
  const ready = await connectGroup(ctx, system, GROUP, CLIENTS, { relay: true });
  if (ready.connected < CLIENTS) throw new Error(`only ${ready.connected} connected: ${ready.firstError}`);
  const counts = pool.split(CLIENTS);
  const openLoop = (durationMs: number) =>
    pool.all(
      (i) => ({
        type: 'relay-open',
        group: GROUP,
        ratePerS: (RATE * (counts[i] ?? 0)) / CLIENTS,
        durationMs,
        graceMs: 3000,
        recordLatency: false,
      }),
      durationMs * 3 + 30_000,
    );
  progress('relay-at-rate', 'tether', `warm-up at ${RATE}/s`);
  await openLoop(2000);
  const serverUs: number[] = [];
  const redisUs: number[] = [];
  for (let t = 1; t <= TRIALS; t++) {
    progress('relay-at-rate', 'tether', `trial ${t}/${TRIALS} at ${RATE}/s`);
    const m = await measure(system, pool, () => openLoop(TRIAL_MS));
    const received = sum(m.result.map((r) => r.received));
    serverUs.push(m.serverUs / received);
    redisUs.push(m.auxUs / received);
    console.log(
      `trial ${t}: ${round(m.serverUs / received)} µs/msg gateway, ${round(m.auxUs / received)} Redis`,
    );
  }
  console.log(
    `median: ${round(median(serverUs))} µs/msg gateway, ${round(median(redisUs))} Redis, at ${RATE}/s`,
  );
} finally {
  await pool.stop();
  await system.stop();
}
if (PROFILE)
  for (const summary of summarizeProfiles(profiles)) {
    console.log(`\nbusy ${round(summary.busyMs)} ms (start-up left out); by area, then by function:`);
    for (const { name, pct } of summary.areas) console.log(`${pct.toFixed(1).padStart(5)} %  ${name}`);
    console.log('');
    for (const { name, pct } of summary.functions) console.log(`${pct.toFixed(1).padStart(5)} %  ${name}`);
  }
rmSync(profiles, { recursive: true, force: true });
