/**
 * `npm run bench -- [--quick] [--scenario NAME] [--system NAME] [--check] [--cpu-prof]`
 *
 * Runs the scenarios against every system in one run, under the same load
 * generators, and writes bench/results/<timestamp>.json, latest.json, latest.md
 * and one SVG chart per scenario. With --check, compares Tether's ratios with the
 * committed baseline and exits 1 on a regression. See bench/README.md.
 */

import { type BaselineFile, checkRun, loadBaseline, NoBaselineError } from './check/guard.ts';
import { machineInfo } from './lib/machine.ts';
import { parseOptions, type SystemName, USAGE, UsageError } from './lib/options.ts';
import { elapsedSeconds, progress } from './lib/progress.ts';
import { ResultSink, type RunRecord } from './lib/results.ts';
import { GeneratorPool } from './load/generator-pool.ts';
import { clearProfiles, PROFILES_DIR, summarizeProfiles } from './report/profile-summary.ts';
import { writeRun } from './report/write-results.ts';
import { admissionScenario } from './scenarios/admission.ts';
import { connectionScenarios } from './scenarios/connections.ts';
import { idempotencyScenario } from './scenarios/idempotency.ts';
import { presenceScenario } from './scenarios/presence.ts';
import { redisTopologiesScenario } from './scenarios/redis-topologies.ts';
import { scaleScenario } from './scenarios/scale.ts';
import type { Scenario } from './scenarios/scenario.ts';
import { stormScenario } from './scenarios/storm.ts';
import { trafficScenarios } from './scenarios/traffic.ts';
import { wireScenario } from './scenarios/wire.ts';
import { BENCH_OVERRIDES } from './systems/tether.ts';

const SCENARIOS: Scenario[] = [
  trafficScenarios,
  connectionScenarios,
  admissionScenario,
  stormScenario,
  scaleScenario,
  idempotencyScenario,
  presenceScenario,
  wireScenario,
  redisTopologiesScenario,
];
const GENERATORS = 3;

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const isSelected = (name: string) =>
    options.scenarios.length === 0 || options.scenarios.some((f) => name.startsWith(f));
  const selected = SCENARIOS.filter((s) => s.names.some(isSelected));
  const mode = options.quick ? 'quick' : 'full';
  let baseline: BaselineFile | undefined;
  try {
    // Before the run: a full run replaces latest.json, the full baseline.
    if (options.check) baseline = loadBaseline(mode);
  } catch (error) {
    if (!(error instanceof NoBaselineError)) throw error;
    process.stderr.write(`--check: ${error.message}\n`);
    process.exit(2);
  }
  const startedAt = new Date().toISOString();
  // Read before the load starts: the load average says how busy the box was without us.
  const machine = machineInfo();
  const sink = new ResultSink();
  if (options.cpuProf) clearProfiles();
  progress('bench', '-', `${mode} run: starting ${GENERATORS} load generators`);
  const pool = await GeneratorPool.start(GENERATORS);
  try {
    for (const scenario of selected) await scenario.run({ options, sink, pool, selected: isSelected });

    const record: RunRecord = {
      run: {
        mode,
        startedAt,
        durationS: Math.round(elapsedSeconds()),
        scenarios: options.scenarios,
        systems: options.systems,
        generators: GENERATORS,
        profiled: options.cpuProf,
        tetherSettings: BENCH_OVERRIDES,
      },
      machine,
      results: sink.results,
      notes: sink.notes,
      ...(options.cpuProf ? { profiles: summarizeProfiles(PROFILES_DIR) } : {}),
    };
    const { files, verdicts } = writeRun(record);
    progress('bench', '-', `done: ${sink.results.length} figures, ${sink.notes.length} notes`);
    for (const v of verdicts) process.stdout.write(`  ${v.status.padEnd(12)} ${v.target} — ${v.measured}\n`);
    for (const file of files) process.stdout.write(`  wrote ${file}\n`);
    if (!baseline) return 0;
    // Selected, or measured along with one that was (relay measures latency too).
    const scenarios = new Set([
      ...SCENARIOS.flatMap((s) => s.names).filter(isSelected),
      ...record.results.map((r) => r.scenario),
    ]);
    // A ratio past its tolerance is measured again, with the same generators, before it fails the run.
    const remeasure = async (names: string[], systems: string[]) => {
      const again = new ResultSink();
      const slice = { ...options, systems: systems as SystemName[] };
      for (const scenario of SCENARIOS.filter((s) => s.names.some((n) => names.includes(n))))
        await scenario.run({ options: slice, sink: again, pool, selected: (n) => names.includes(n) });
      return again.results;
    };
    const scope = { scenarios, systems: new Set(options.systems) };
    return (await checkRun(baseline, record, scope, remeasure)) ? 0 : 1;
  } finally {
    await pool.stop();
  }
}

const exitCode = await main();
// Nothing should be left running; if a socket or timer lingers, it must not keep the run from ending.
process.exit(exitCode);
