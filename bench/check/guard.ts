/**
 * `--check`: the regression guard's files. A quick run is compared with the
 * committed quick baseline (bench/results/quick-baseline.json, made by
 * `npm run bench:baseline` from several quick runs); a full run with the
 * committed full results (bench/results/latest.json, read before this run
 * replaces it). Never a quick run with a full one: quick trials are 0.8 s instead
 * of 4 (JIT warm-up and 10 ms CPU ticks weigh differently on systems of different
 * cost), the fan-out and memory sizes differ, and so do the ratios.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { progress } from '../lib/progress.ts';
import type { Result, RunRecord } from '../lib/results.ts';
import { formatNumber } from '../report/format.ts';
import { RESULTS_DIR } from '../report/write-results.ts';
import {
  type CheckRow,
  checkPassed,
  combineRuns,
  compareRatios,
  formatCheckTable,
  type Ratio,
  type RunScope,
  ratiosOf,
} from './ratios.ts';

export const QUICK_BASELINE = join(RESULTS_DIR, 'quick-baseline.json');
const FULL_BASELINE = join(RESULTS_DIR, 'latest.json');

export interface BaselineFile {
  mode: 'quick' | 'full';
  /** The runs the ratios are medians of. */
  madeFrom: { startedAt: string; commit: string; loadAverageAtStart: number[] }[];
  ratios: (Ratio & { spread?: number; runs?: number })[];
}

export class NoBaselineError extends Error {
  override name = 'NoBaselineError';
}

/** The baseline for a run of this mode; read it before the run writes its own results. */
export function loadBaseline(mode: 'quick' | 'full'): BaselineFile {
  if (mode === 'quick') {
    if (!existsSync(QUICK_BASELINE))
      throw new NoBaselineError(
        `no quick baseline at ${QUICK_BASELINE}: make one with npm run bench:baseline -- <quick run JSONs>`,
      );
    return JSON.parse(readFileSync(QUICK_BASELINE, 'utf8')) as BaselineFile;
  }
  const record = JSON.parse(readFileSync(FULL_BASELINE, 'utf8')) as RunRecord;
  if (record.run.mode !== 'full')
    throw new NoBaselineError(
      `${FULL_BASELINE} holds a ${record.run.mode} run: a full run needs a full baseline`,
    );
  return { mode: 'full', madeFrom: [madeFrom(record)], ratios: ratiosOf(record.results) };
}

export function madeFrom(record: RunRecord): BaselineFile['madeFrom'][number] {
  const { startedAt } = record.run;
  return { startedAt, commit: record.machine.commit, loadAverageAtStart: record.machine.loadAverageAtStart };
}

export function writeQuickBaseline(baseline: BaselineFile): void {
  writeFileSync(QUICK_BASELINE, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** Measure `scenarios` again on `systems` (Tether and the yardsticks): their results. */
export type Remeasure = (scenarios: string[], systems: string[]) => Promise<Result[]>;

/**
 * Measurements in all of a ratio that the first one found past its tolerance: the
 * verdict takes their median. A quick trial's CPU is a few clock ticks, so one run
 * now and then lands past a tolerance set from the spread of many (fan-out ÷ raw went
 * 1.82× against a 1.2× baseline in one run here, then 1.47× and 1.06×); a real
 * regression shows in the median of three.
 */
export const MEASUREMENTS_OF_A_REGRESSION = 3;

const unique = (values: string[]) => [...new Set(values)];

/**
 * Compare a finished run with the baseline, print the table, and say whether it passed.
 * With `remeasure`, a ratio past its tolerance is measured again before it fails the run.
 */
export async function checkRun(
  baseline: BaselineFile,
  record: RunRecord,
  scope: RunScope,
  remeasure?: Remeasure,
): Promise<boolean> {
  let rows: CheckRow[] = compareRatios(baseline.ratios, ratiosOf(record.results), scope);
  const regressed = rows.filter((r) => r.verdict === 'regressed');
  let confirmed = '';
  if (regressed.length > 0 && remeasure) {
    const scenarios = unique(regressed.map((r) => r.scenario));
    const systems = unique(['tether', ...regressed.map((r) => r.yardstick)]);
    const runs = [ratiosOf(record.results)];
    for (let i = 1; i < MEASUREMENTS_OF_A_REGRESSION; i++) {
      progress(
        'check',
        '-',
        `past tolerance: ${scenarios.join(', ')} measured again (${i + 1}/${MEASUREMENTS_OF_A_REGRESSION})`,
      );
      runs.push(ratiosOf(await remeasure(scenarios, systems)));
    }
    rows = compareRatios(baseline.ratios, combineRuns(runs), scope);
    const first = regressed.map(
      (r) => `${r.scenario} ${r.metric} ÷ ${r.yardstick} ${formatNumber(r.now ?? 0)}×`,
    );
    confirmed = `Past tolerance at first (${first.join('; ')}): ${scenarios.join(', ')} measured ${MEASUREMENTS_OF_A_REGRESSION} times; "now" is the median.\n\n`;
  }
  const passed = checkPassed(rows);
  const source = baseline.madeFrom.map((r) => `${r.startedAt} (${r.commit})`).join(', ');
  const out = process.stdout;
  out.write(`\nRegression check: Tether's ratios against the ${baseline.mode} baseline from ${source}\n\n`);
  out.write(confirmed);
  out.write(`${formatCheckTable(rows)}\n\n`);
  if (rows.every((r) => r.verdict === 'new'))
    out.write('check FAILED: nothing to compare (no guarded ratio in this run and the baseline)\n');
  else
    out.write(
      passed
        ? 'check passed\n'
        : 'check FAILED: a ratio got worse than its tolerance allows, or was not measured\n',
    );
  return passed;
}
