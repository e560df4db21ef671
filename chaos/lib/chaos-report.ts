/** chaos/results/chaos-report.{json,md,svg}: the verdict per scenario and per promise. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS } from './processes.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { barChart } from './svg-chart.ts';

const mark = (held: boolean) => (held ? 'held' : '**BROKEN**');
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ') || '—';

export function writeChaosReport(results: ScenarioResult[], settings: Record<string, unknown>): string[] {
  const generated = new Date().toISOString();
  writeFileSync(
    join(RESULTS, 'chaos-report.json'),
    `${JSON.stringify({ generated, settings, results }, null, 2)}\n`,
  );
  const lines = [
    '# Chaos report',
    '',
    `Generated ${generated} by \`npm run chaos\` (settings: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}). See chaos/README.md for how to read it.`,
    '',
    '| Scenario | Verdict | Acked | Lost silently | Lost, reported | Duplicates | Out of order | Caught up | Broken promises |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...results.map((r) => {
      const caught = r.promises.find((p) => p.id === 'caught-up')?.detail.split(' ')[0] ?? '?';
      const broken = r.promises.filter((p) => !p.held).map((p) => p.id);
      return `| ${r.name} | ${r.ok ? 'pass' : '**FAIL**'} | ${r.publisher.acked} | ${r.totals.lostSilently} | ${r.totals.lostReported} | ${r.totals.duplicates} | ${r.totals.outOfOrder} | ${caught} | ${broken.join(', ') || '—'} |`;
    }),
    '',
    '![chart](chaos-report.svg)',
    '',
  ];
  for (const r of results) {
    lines.push(
      `## ${r.name}: ${r.ok ? 'pass' : 'FAIL'}`,
      '',
      `${r.title}. Took ${(r.durationMs / 1000).toFixed(0)} s.`,
      '',
    );
    if (r.knownIssue) lines.push(`Known issue: ${r.knownIssue}.`, '');
    lines.push('| Promise | Verdict | Measured |', '| --- | --- | --- |');
    for (const p of r.promises) lines.push(`| ${p.promise} | ${mark(p.held)} | ${p.detail} |`);
    lines.push(
      '',
      `Publisher: ${r.publisher.acked} acked, ${r.publisher.refused} refused, ${r.publisher.unknown} unknown outcome (HTTP: ${counts(r.publisher.statuses)}). ` +
        `Clients: ${r.clients.connects} connections, ${r.clients.resumes} resumed sessions, ${r.totals.gapReports} gap reports (${r.totals.needlessReports} covering nothing lost); ` +
        `error frames ${counts(r.clients.errorCodes)}; closes ${counts(r.clients.closeCodes)}.`,
      '',
    );
    if (r.worstClients.length > 0) {
      lines.push(
        '| Client | Expected | Delivered | Lost silently | Lost, reported | Duplicates | Out of order | Examples |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
        ...r.worstClients.map(
          (v) =>
            `| ${v.client}${v.neverSubscribed ? ' (never subscribed)' : ''} | ${v.expected} | ${v.delivered} | ${v.lostSilently} | ${v.lostReported} | ${v.duplicates} | ${v.outOfOrder} | ${v.examples.join('; ')} |`,
        ),
        '',
      );
    }
    if (r.gatewayProblems.length > 0) {
      lines.push(
        `Gateway stderr, fatal and error logs (${r.gatewayErrorLogs} error lines; the first):`,
        '',
        '```',
        ...r.gatewayProblems,
        '```',
        '',
      );
    }
  }
  writeFileSync(join(RESULTS, 'chaos-report.md'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(RESULTS, 'chaos-report.svg'),
    barChart(
      'Chaos: acked events, and deliveries lost silently / duplicated per scenario',
      ['acked events', 'lost silently', 'duplicates'],
      results.map((r) => ({
        label: r.name,
        values: [r.publisher.acked, r.totals.lostSilently, r.totals.duplicates],
      })),
    ),
  );
  return ['chaos-report.md', 'chaos-report.json', 'chaos-report.svg'].map((f) => join(RESULTS, f));
}
