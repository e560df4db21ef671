/**
 * The regression guard's arithmetic (`npm run bench -- --quick --check`): Tether's
 * figures as ratios to yardsticks measured in the same run — raw uWS, the durable
 * floor — compared with the same ratios in a baseline. Ratios, not absolute
 * figures: on a shared box absolute CPU and latency drift with the neighbours, and
 * a ratio to a system measured minutes apart under the same load cancels most of
 * that. Pure functions; bench/check/guard.ts does the files and the printing.
 */

import type { Result } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import { formatNumber } from '../report/format.ts';
import { direction } from '../report/scenario-info.ts';

/** One guarded figure: Tether's `metric` ÷ the yardstick's, in the same run. */
export interface Ratio {
  scenario: string;
  metric: string;
  yardstick: string;
  value: number;
}

export interface GuardRule {
  scenario: string;
  metric: RegExp;
  yardstick: string;
  /** How much worse than the baseline the ratio may get before it is a regression (0.25: 25% worse). */
  tolerance: number;
}

/**
 * CPU per operation only. Each tolerance is at least the spread (largest ÷ smallest
 * − 1) of that ratio over 6 quick runs here with other agents' tests on the box
 * (load average 2.4–4.1); since the baseline is their median, a run inside that
 * range stays inside the tolerance. Spreads: relay at 2,000 msg/s ÷ floor 20%, the
 * same with Redis 17%, at saturation ÷ floor 34% and ÷ raw 28%, fan-out ÷ raw 26%.
 * Left out, because noise would decide: relay at 2,000 msg/s ÷ raw (46%: raw's CPU
 * there is ~14 clock ticks in a quick run), and every rate and latency ratio
 * (msgs_per_s 340%, deliveries_per_s 200%, p50 230%, p99 530% over 3–4 runs).
 */
export const GUARDED: readonly GuardRule[] = [
  { scenario: 'relay', metric: /^cpu_us_per_msg$/, yardstick: 'uws-durable', tolerance: 0.25 },
  { scenario: 'relay', metric: /^cpu_us_per_msg_with_redis$/, yardstick: 'uws-durable', tolerance: 0.25 },
  { scenario: 'relay', metric: /^cpu_us_per_msg_at_saturation$/, yardstick: 'uws-durable', tolerance: 0.35 },
  { scenario: 'relay', metric: /^cpu_us_per_msg_at_saturation$/, yardstick: 'uws-raw', tolerance: 0.3 },
  { scenario: 'fanout', metric: /^cpu_us_per_delivery_\d+k$/, yardstick: 'uws-raw', tolerance: 0.35 },
];

const GUARDED_SYSTEM = 'tether';

/** Every guarded ratio a run's figures allow (a yardstick or Tether missing: no ratio). */
export function ratiosOf(results: readonly Result[], rules: readonly GuardRule[] = GUARDED): Ratio[] {
  const value = (scenario: string, system: string, metric: string) => {
    const v = results.find(
      (r) => r.scenario === scenario && r.system === system && r.metric === metric,
    )?.value;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const ratios: Ratio[] = [];
  for (const rule of rules) {
    const metrics = new Set(
      results
        .filter(
          (r) => r.scenario === rule.scenario && r.system === GUARDED_SYSTEM && rule.metric.test(r.metric),
        )
        .map((r) => r.metric),
    );
    for (const metric of metrics) {
      const tether = value(rule.scenario, GUARDED_SYSTEM, metric);
      const yardstick = value(rule.scenario, rule.yardstick, metric);
      if (tether === undefined || !yardstick) continue;
      ratios.push({ scenario: rule.scenario, metric, yardstick: rule.yardstick, value: tether / yardstick });
    }
  }
  return ratios;
}

export type CheckVerdict = 'ok' | 'better' | 'regressed' | 'missing' | 'new';

export interface CheckRow {
  scenario: string;
  metric: string;
  yardstick: string;
  baseline?: number;
  now?: number;
  /** How much worse now is than the baseline (0.1: 10% worse; negative: better). */
  worse?: number;
  tolerance: number;
  verdict: CheckVerdict;
}

const sameRatio = (a: Omit<Ratio, 'value'>, b: Omit<Ratio, 'value'>) =>
  a.scenario === b.scenario && a.metric === b.metric && a.yardstick === b.yardstick;

/** What a run covered (`--scenario`, `--system`): only that is judged. */
export interface RunScope {
  scenarios: ReadonlySet<string>;
  systems: ReadonlySet<string>;
}

/**
 * Compare this run's ratios with the baseline's. Only what this run covered is
 * judged (a `--scenario` or `--system` slice checks its slice); within it, a
 * baseline ratio this run could not produce is `missing` — a failure, since a
 * system that crashed must not pass the guard.
 */
export function compareRatios(
  baseline: readonly Ratio[],
  current: readonly Ratio[],
  scope: RunScope,
  rules: readonly GuardRule[] = GUARDED,
): CheckRow[] {
  const covered = (r: Ratio) =>
    scope.scenarios.has(r.scenario) && scope.systems.has(GUARDED_SYSTEM) && scope.systems.has(r.yardstick);
  const ruleFor = (r: Omit<Ratio, 'value'>) =>
    rules.find(
      (rule) => rule.scenario === r.scenario && rule.yardstick === r.yardstick && rule.metric.test(r.metric),
    );
  const rows: CheckRow[] = [];
  for (const base of baseline) {
    const rule = ruleFor(base);
    if (!rule || !covered(base)) continue;
    const now = current.find((c) => sameRatio(c, base));
    const key = { scenario: base.scenario, metric: base.metric, yardstick: base.yardstick };
    if (!now) {
      rows.push({ ...key, baseline: base.value, tolerance: rule.tolerance, verdict: 'missing' });
      continue;
    }
    // Worse means a higher ratio for costs (↓) and a lower one for rates (↑).
    const factor = direction(base.metric) === '↑' ? base.value / now.value : now.value / base.value;
    const verdict: CheckVerdict =
      factor > 1 + rule.tolerance ? 'regressed' : factor < 1 / (1 + rule.tolerance) ? 'better' : 'ok';
    rows.push({
      ...key,
      baseline: base.value,
      now: now.value,
      worse: factor - 1,
      tolerance: rule.tolerance,
      verdict,
    });
  }
  for (const now of current) {
    const rule = ruleFor(now);
    if (!rule || baseline.some((b) => sameRatio(b, now))) continue;
    const { scenario, metric, yardstick } = now;
    rows.push({ scenario, metric, yardstick, now: now.value, tolerance: rule.tolerance, verdict: 'new' });
  }
  return rows;
}

/** The guard fails on a regression or a missing figure, and when it compared nothing at all. */
export function checkPassed(rows: readonly CheckRow[]): boolean {
  const compared = rows.filter((r) => r.verdict !== 'new');
  return compared.length > 0 && compared.every((r) => r.verdict === 'ok' || r.verdict === 'better');
}

/**
 * Several runs' ratios in one baseline: the median of each ratio, and its spread
 * (largest ÷ smallest − 1) — the figure the tolerances are set from.
 */
export function combineRuns(
  runs: readonly (readonly Ratio[])[],
): (Ratio & { spread: number; runs: number })[] {
  const keys: Ratio[] = [];
  for (const run of runs) for (const r of run) if (!keys.some((k) => sameRatio(k, r))) keys.push(r);
  return keys.map((key) => {
    const values = runs.flatMap((run) => run.filter((r) => sameRatio(r, key)).map((r) => r.value));
    return {
      scenario: key.scenario,
      metric: key.metric,
      yardstick: key.yardstick,
      value: median(values),
      spread: Math.max(...values) / Math.min(...values) - 1,
      runs: values.length,
    };
  });
}

const VERDICT_TEXT: Record<CheckVerdict, string> = {
  ok: 'ok',
  better: 'better',
  regressed: 'REGRESSED',
  missing: 'MISSING (not measured this run)',
  new: 'new (no baseline)',
};

const percent = (fraction: number) => `${fraction >= 0 ? '+' : '−'}${Math.round(Math.abs(fraction) * 100)}%`;

/** A plain-text table for the terminal: each ratio, baseline, now, change, allowed, verdict. */
export function formatCheckTable(rows: readonly CheckRow[]): string {
  const ratio = (v: number | undefined) => (v === undefined ? '—' : `${formatNumber(v)}×`);
  const table = [
    ['ratio (tether ÷ yardstick)', 'baseline', 'now', 'worse by', 'allowed', 'verdict'],
    ...rows.map((r) => [
      `${r.scenario} ${r.metric} ÷ ${r.yardstick}`,
      ratio(r.baseline),
      ratio(r.now),
      r.worse === undefined ? '—' : percent(r.worse),
      `+${Math.round(r.tolerance * 100)}%`,
      VERDICT_TEXT[r.verdict],
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((line) => (line[i] ?? '').length))) ?? [];
  return table
    .map((line) =>
      line
        .map((cell, i) =>
          i === 0 || i === line.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
