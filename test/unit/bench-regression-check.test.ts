/**
 * The regression guard's comparison (bench/check/ratios.ts): Tether's figures as
 * ratios to yardsticks of the same run, judged against a baseline with a tolerance.
 * What a release manager would notice: a slower Tether fails the check even when the
 * whole box got slower or faster, a crashed system fails it, a slice checks only
 * itself, and a check that compared nothing never passes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BaselineFile, checkRun } from '../../bench/check/guard.ts';
import {
  checkPassed,
  combineRuns,
  compareRatios,
  formatCheckTable,
  type GuardRule,
  type RunScope,
  ratiosOf,
} from '../../bench/check/ratios.ts';
import type { Result, RunRecord } from '../../bench/lib/results.ts';

const RULES: GuardRule[] = [
  { scenario: 'relay', metric: /^cpu_us_per_msg$/, yardstick: 'uws-durable', tolerance: 0.2 },
  { scenario: 'relay', metric: /^msgs_per_s$/, yardstick: 'uws-durable', tolerance: 0.3 },
  { scenario: 'fanout', metric: /^deliveries_per_s_\d+k$/, yardstick: 'uws-raw', tolerance: 0.3 },
];
const ALL: RunScope = {
  scenarios: new Set(['relay', 'fanout']),
  systems: new Set(['uws-raw', 'uws-durable', 'tether']),
};

const row = (scenario: string, system: string, metric: string, value: number): Result => ({
  scenario,
  system,
  metric,
  value,
  unit: '',
});

/** A run where Tether costs `tetherUs` per message against a floor of `floorUs`, and so on. */
function run(f: {
  tetherUs: number;
  floorUs: number;
  tetherRate?: number;
  floorRate?: number;
  fanout?: [tether: number, raw: number];
}): Result[] {
  return [
    row('relay', 'tether', 'cpu_us_per_msg', f.tetherUs),
    row('relay', 'uws-durable', 'cpu_us_per_msg', f.floorUs),
    row('relay', 'tether', 'msgs_per_s', f.tetherRate ?? 20_000),
    row('relay', 'uws-durable', 'msgs_per_s', f.floorRate ?? 20_000),
    row('relay', 'tether', 'fixed_load_msgs_per_s', 2000),
    row('relay', 'uws-durable', 'fixed_load_msgs_per_s', 2000),
    ...(f.fanout
      ? [
          row('fanout', 'tether', 'deliveries_per_s_1k', f.fanout[0]),
          row('fanout', 'uws-raw', 'deliveries_per_s_1k', f.fanout[1]),
        ]
      : []),
  ];
}

const baseline = ratiosOf(run({ tetherUs: 120, floorUs: 100, fanout: [900_000, 1_000_000] }), RULES);
const verdictOf = (rows: ReturnType<typeof compareRatios>, metric: string) =>
  rows.find((r) => r.metric === metric)?.verdict;

describe('bench regression guard', () => {
  it('takes Tether ÷ yardstick from the same run, only for guarded metrics', () => {
    expect(baseline).toEqual([
      { scenario: 'relay', metric: 'cpu_us_per_msg', yardstick: 'uws-durable', value: 1.2 },
      { scenario: 'relay', metric: 'msgs_per_s', yardstick: 'uws-durable', value: 1 },
      { scenario: 'fanout', metric: 'deliveries_per_s_1k', yardstick: 'uws-raw', value: 0.9 },
    ]);
  });

  it('passes when the whole box got twice as slow but Tether kept its ratio', () => {
    const now = ratiosOf(run({ tetherUs: 240, floorUs: 200, fanout: [450_000, 500_000] }), RULES);
    const rows = compareRatios(baseline, now, ALL, RULES);
    expect(rows.map((r) => r.verdict)).toEqual(['ok', 'ok', 'ok']);
    expect(checkPassed(rows)).toBe(true);
  });

  it('fails when Tether alone got slower than the tolerance allows', () => {
    // 1.2× → 1.5× the floor: 25% worse, tolerance 20%.
    const rows = compareRatios(baseline, ratiosOf(run({ tetherUs: 150, floorUs: 100 }), RULES), ALL, RULES);
    const cpu = rows.find((r) => r.metric === 'cpu_us_per_msg');
    expect(cpu?.verdict).toBe('regressed');
    expect(cpu?.worse).toBeCloseTo(0.25);
    expect(checkPassed(rows)).toBe(false);
  });

  it('tolerates a change within the tolerance, and calls a large gain better', () => {
    const slightly = compareRatios(
      baseline,
      ratiosOf(run({ tetherUs: 138, floorUs: 100 }), RULES),
      ALL,
      RULES,
    );
    expect(verdictOf(slightly, 'cpu_us_per_msg')).toBe('ok');
    const faster = compareRatios(baseline, ratiosOf(run({ tetherUs: 80, floorUs: 100 }), RULES), ALL, RULES);
    expect(verdictOf(faster, 'cpu_us_per_msg')).toBe('better');
  });

  it('reads a falling rate as worse, and a falling cost as better', () => {
    const rows = compareRatios(
      baseline,
      ratiosOf(run({ tetherUs: 60, floorUs: 100, tetherRate: 10_000, floorRate: 20_000 }), RULES),
      ALL,
      RULES,
    );
    expect(verdictOf(rows, 'msgs_per_s')).toBe('regressed');
    expect(verdictOf(rows, 'cpu_us_per_msg')).toBe('better');
  });

  it('fails when a guarded figure was not measured (a system crashed)', () => {
    const crashed = run({ tetherUs: 120, floorUs: 100 }).filter(
      (r) => !(r.system === 'tether' && r.metric === 'msgs_per_s'),
    );
    const rows = compareRatios(baseline, ratiosOf(crashed, RULES), ALL, RULES);
    expect(verdictOf(rows, 'msgs_per_s')).toBe('missing');
    expect(checkPassed(rows)).toBe(false);
  });

  it('judges only the scenarios and systems the run covered', () => {
    const relayOnly: RunScope = { ...ALL, scenarios: new Set(['relay']) };
    const rows = compareRatios(
      baseline,
      ratiosOf(run({ tetherUs: 120, floorUs: 100 }), RULES),
      relayOnly,
      RULES,
    );
    expect(rows.map((r) => r.metric)).toEqual(['cpu_us_per_msg', 'msgs_per_s']);
    expect(checkPassed(rows)).toBe(true);
    const withoutFloor: RunScope = { ...ALL, systems: new Set(['uws-raw', 'tether']) };
    const fanoutOnly = compareRatios(
      baseline,
      ratiosOf(run({ tetherUs: 120, floorUs: 100, fanout: [900_000, 1_000_000] }), RULES),
      withoutFloor,
      RULES,
    );
    expect(fanoutOnly.map((r) => r.metric)).toEqual(['deliveries_per_s_1k']);
  });

  it('never passes a check that compared nothing', () => {
    const rows = compareRatios([], ratiosOf(run({ tetherUs: 120, floorUs: 100 }), RULES), ALL, RULES);
    expect(rows.every((r) => r.verdict === 'new')).toBe(true);
    expect(checkPassed(rows)).toBe(false);
    expect(checkPassed([])).toBe(false);
  });

  it('makes a baseline of several runs from each ratio’s median, with its spread', () => {
    const runs = [100, 130, 110].map((us) => ratiosOf(run({ tetherUs: us, floorUs: 100 }), RULES));
    const cpu = combineRuns(runs).find((r) => r.metric === 'cpu_us_per_msg');
    expect(cpu?.value).toBeCloseTo(1.1);
    expect(cpu?.spread).toBeCloseTo(0.3);
    expect(cpu?.runs).toBe(3);
  });

  it('prints one readable line per ratio: baseline, now, change, allowance, verdict', () => {
    const rows = compareRatios(baseline, ratiosOf(run({ tetherUs: 150, floorUs: 100 }), RULES), ALL, RULES);
    const lines = formatCheckTable(rows).split('\n');
    expect(lines[0]).toMatch(
      /^ratio \(tether ÷ yardstick\)\s+baseline\s+now\s+worse by\s+allowed\s+verdict$/,
    );
    const cpu = lines.find((l) => l.startsWith('relay cpu_us_per_msg ÷ uws-durable'));
    expect(cpu).toMatch(/1\.2×\s+1\.5×\s+\+25%\s+\+20%\s+REGRESSED$/);
    expect(lines.find((l) => l.startsWith('fanout'))).toMatch(/MISSING/);
  });
});

describe('a ratio past its tolerance', () => {
  const file: BaselineFile = {
    mode: 'quick',
    madeFrom: [],
    ratios: [{ scenario: 'relay', metric: 'cpu_us_per_msg', yardstick: 'uws-durable', value: 1 }],
  };
  const recordOf = (results: Result[]) => ({ results }) as unknown as RunRecord;
  const scope: RunScope = { scenarios: new Set(['relay']), systems: new Set(['tether', 'uws-durable']) };
  const quietly = () => vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  afterEach(() => vi.restoreAllMocks());

  it('is measured again, and the median of three decides: one noisy trial does not fail the run', async () => {
    quietly();
    const asked: [string[], string[]][] = [];
    const again = [run({ tetherUs: 100, floorUs: 100 }), run({ tetherUs: 110, floorUs: 100 })];
    const passed = await checkRun(
      file,
      recordOf(run({ tetherUs: 180, floorUs: 100 })),
      scope,
      async (s, y) => {
        asked.push([s, y]);
        return again.shift() ?? [];
      },
    );
    expect(asked).toEqual([
      [['relay'], ['tether', 'uws-durable']],
      [['relay'], ['tether', 'uws-durable']],
    ]);
    expect(passed).toBe(true);
  });

  it('fails the run when it holds in the median', async () => {
    quietly();
    const again = [run({ tetherUs: 170, floorUs: 100 }), run({ tetherUs: 100, floorUs: 100 })];
    const measured = async () => again.shift() ?? [];
    expect(await checkRun(file, recordOf(run({ tetherUs: 180, floorUs: 100 })), scope, measured)).toBe(false);
  });

  it('fails at once without a way to measure again', async () => {
    quietly();
    expect(await checkRun(file, recordOf(run({ tetherUs: 180, floorUs: 100 })), scope)).toBe(false);
  });
});
