/**
 * Writes a run to bench/results/: <timestamp>.json (kept locally, git-ignored),
 * latest.json (same content), one <scenario>.svg chart per scenario measured, and
 * latest.md, the report that links them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../lib/results.ts';
import { REPO_ROOT } from '../systems/server-process.ts';
import { renderMarkdown } from './markdown.ts';
import { direction, SCENARIOS } from './scenario-info.ts';
import { barChart } from './svg-chart.ts';
import { judgeTargets, type TargetVerdict } from './targets.ts';

export const RESULTS_DIR = join(REPO_ROOT, 'bench/results');

export interface Written {
  files: string[];
  verdicts: TargetVerdict[];
}

/**
 * A profiled run writes to bench/results/profiled/: the profiler costs Tether real
 * CPU (about 3× per resume in the full storm), so its figures never replace the
 * unprofiled ones the README quotes; its report says where the time goes.
 */
export const PROFILED_RESULTS_DIR = join(RESULTS_DIR, 'profiled');

export function writeRun(
  record: RunRecord,
  dir = record.run.profiled ? PROFILED_RESULTS_DIR : RESULTS_DIR,
): Written {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    files.push(join(dir, name));
  };
  const json = `${JSON.stringify(record, null, 2)}\n`;
  write(`${record.run.startedAt.replace(/[:.]/g, '-')}.json`, json);
  write('latest.json', json);

  const charts = new Map<string, string>();
  for (const info of SCENARIOS) {
    const rows = record.results.filter((r) => r.scenario === info.name);
    const metrics = [...new Set(rows.map((r) => r.metric))].filter((m) =>
      info.chart.some((re) => re.test(m)),
    );
    if (metrics.length === 0) continue;
    const panels = metrics.map((metric) => {
      const ofMetric = rows.filter((r) => r.metric === metric);
      const better = { '↓': ', lower is better', '↑': ', higher is better', '': '' }[direction(metric)];
      return {
        title: `${metric} (${ofMetric[0]?.unit ?? ''})${better}`,
        bars: ofMetric.map((r) => ({ label: r.system, value: r.value })),
      };
    });
    const name = `${info.name}.svg`;
    write(
      name,
      barChart(`${info.name} — ${record.run.mode} run, ${record.run.startedAt.slice(0, 10)}`, panels),
    );
    charts.set(info.name, name);
  }

  const verdicts = judgeTargets(record.results, record.run.mode === 'quick');
  const profiledReport = !record.run.profiled && existsSync(join(PROFILED_RESULTS_DIR, 'latest.md'));
  write('latest.md', renderMarkdown(record, verdicts, charts, { profiledReport }));
  return { files, verdicts };
}
