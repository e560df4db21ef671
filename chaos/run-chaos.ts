/**
 * `npm run chaos [-- --only name,name] [-- --clients 50]`: every fault scenario in turn,
 * then the report. Exits 1 when any scenario broke a promise (the report says which).
 */
import { loadavg } from 'node:os';
import { writeChaosReport } from './lib/chaos-report.ts';
import { option, progress } from './lib/progress.ts';
import { runScenario, type ScenarioResult } from './lib/run-scenario.ts';
import { SCENARIOS } from './scenarios.ts';

const only = option('only', 'CHAOS_ONLY', '').split(',').filter(Boolean);
const settings = {
  clients: Number(option('clients', 'CHAOS_CLIENTS', '50')),
  channels: 5,
  publishPerSecond: Number(option('rate', 'CHAOS_RATE', '60')),
  settleMs: 30_000,
};
const chosen = only.length > 0 ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (chosen.length === 0) {
  process.stderr.write(
    `no scenario named ${only.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}

// The box is shared: the report says how busy it was, since timing-sensitive faults feel it.
const loadAtStart = loadavg()[0]!.toFixed(2);
const results: ScenarioResult[] = [];
for (const [i, scenario] of chosen.entries()) {
  progress(`scenario ${i + 1}/${chosen.length}: ${scenario.name} — ${scenario.title}`);
  const result = await runScenario(scenario, settings);
  results.push(result);
  const broken = result.promises.filter((p) => !p.held);
  progress(
    `  ${result.ok ? 'pass' : 'FAIL'}: ${result.publisher.acked} acked, ${result.totals.lostSilently} lost silently, ` +
      `${result.totals.lostReported} lost and reported, ${result.totals.duplicates} duplicates` +
      (broken.length ? `; broken: ${broken.map((p) => `${p.id} (${p.detail})`).join('; ')}` : ''),
  );
}
const load = loadavg()[0]!.toFixed(2);
for (const file of writeChaosReport(results, { ...settings, loadAtStart, loadAtEnd: load }))
  progress(`wrote ${file}`);
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) {
  progress(
    `${failed.length}/${results.length} scenarios broke a promise: ${failed.map((r) => r.name).join(', ')}`,
  );
  process.exit(1);
}
progress(`all ${results.length} scenarios kept every promise`);
