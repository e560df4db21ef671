/**
 * `npm run bench:baseline -- [run.json ...]`
 *
 * Makes bench/results/quick-baseline.json, what `npm run bench -- --quick --check`
 * compares with: the median of each guarded ratio over the given quick runs
 * (default: bench/results/latest.json). Each run writes bench/results/<timestamp>.json,
 * so three quick runs in a row and this script make a baseline that one noisy run
 * cannot skew; the spread it prints is what the tolerances in ratios.ts are set from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../lib/results.ts';
import { round } from '../lib/stats.ts';
import { RESULTS_DIR } from '../report/write-results.ts';
import { madeFrom, QUICK_BASELINE, writeQuickBaseline } from './guard.ts';
import { combineRuns, GUARDED, ratiosOf } from './ratios.ts';

const files = process.argv.slice(2);
const records = (files.length > 0 ? files : [join(RESULTS_DIR, 'latest.json')]).map(
  (file) => JSON.parse(readFileSync(file, 'utf8')) as RunRecord,
);
const notQuick = records.filter((r) => r.run.mode !== 'quick');
if (notQuick.length > 0) {
  process.stderr.write(`not quick runs: ${notQuick.map((r) => r.run.startedAt).join(', ')}\n`);
  process.exit(2);
}
const ratios = combineRuns(records.map((r) => ratiosOf(r.results))).map((r) => ({
  ...r,
  value: round(r.value, 4),
  spread: round(r.spread, 2),
}));
writeQuickBaseline({ mode: 'quick', madeFrom: records.map(madeFrom), ratios });

process.stdout.write(`${QUICK_BASELINE}: ${ratios.length} ratios, medians of ${records.length} runs\n\n`);
for (const r of ratios) {
  const tolerance = GUARDED.find(
    (g) => g.scenario === r.scenario && g.yardstick === r.yardstick && g.metric.test(r.metric),
  )?.tolerance;
  process.stdout.write(
    `  ${`${r.scenario} ${r.metric} ÷ ${r.yardstick}`.padEnd(60)} ${r.value.toPrecision(3).padStart(7)}×  spread ${`${Math.round(r.spread * 100)}%`.padStart(4)} over ${r.runs} runs (tolerance ${Math.round((tolerance ?? 0) * 100)}%)\n`,
  );
}
