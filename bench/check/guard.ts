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
import type { RunRecord } from '../lib/results.ts';
import { RESULTS_DIR } from '../report/write-results.ts';
import {
  type CheckRow,
  checkPassed,
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

/** Compare a finished run with the baseline, print the table, and say whether it passed. */
export function checkRun(baseline: BaselineFile, record: RunRecord, scope: RunScope): boolean {
  const rows: CheckRow[] = compareRatios(baseline.ratios, ratiosOf(record.results), scope);
  const passed = checkPassed(rows);
  const source = baseline.madeFrom.map((r) => `${r.startedAt} (${r.commit})`).join(', ');
  const out = process.stdout;
  out.write(`\nRegression check: Tether's ratios against the ${baseline.mode} baseline from ${source}\n\n`);
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
