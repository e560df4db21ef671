/**
 * The figures a run produces: one row per (scenario, system, metric), the shape
 * written to bench/results/*.json. Notes carry what a figure alone cannot say
 * (a step that failed, a load the system could not sustain).
 */
import type { ProfileSummary } from '../report/profile-summary.ts';
import type { MachineInfo } from './machine.ts';

export interface Result {
  scenario: string;
  system: string;
  metric: string;
  value: number;
  unit: string;
}

export interface Note {
  scenario: string;
  system: string;
  text: string;
}

export class ResultSink {
  readonly results: Result[] = [];
  readonly notes: Note[] = [];

  add(scenario: string, system: string, metric: string, value: number, unit: string): void {
    this.results.push({ scenario, system, metric, value, unit });
  }

  note(scenario: string, system: string, text: string): void {
    this.notes.push({ scenario, system, text });
    process.stderr.write(`  note: ${scenario}/${system}: ${text}\n`);
  }

  get(scenario: string, system: string, metric: string): number | undefined {
    return this.results.find((r) => r.scenario === scenario && r.system === system && r.metric === metric)
      ?.value;
  }
}

/** How a run was made: enough to tell a quick run from a full one and to repeat it. */
export interface RunInfo {
  mode: 'quick' | 'full';
  startedAt: string;
  durationS: number;
  /** `--scenario` filters (empty: all). */
  scenarios: string[];
  systems: string[];
  generators: number;
  /** Tether ran under V8's CPU profiler (`--cpu-prof`): it costs real CPU, so the run is written apart. */
  profiled?: boolean;
  /** Tether settings the bench changes from their defaults (bench/systems/tether.ts). */
  tetherSettings: Record<string, string>;
}

/** One run as written to bench/results/<timestamp>.json and latest.json. */
export interface RunRecord {
  run: RunInfo;
  machine: MachineInfo;
  results: Result[];
  notes: Note[];
  /** With `--cpu-prof`: where the gateway's busy time went, per scenario group. */
  profiles?: ProfileSummary[];
}
