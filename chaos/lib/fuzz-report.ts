/** chaos/results/fuzz-report.{json,md,svg}: counts per error and close code, promises, RSS over time. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PromiseVerdict } from './checker.ts';
import type { FuzzTally } from './fuzz-worker.ts';
import { RESULTS } from './processes.ts';
import { lineChart } from './svg-chart.ts';

export interface FuzzResult {
  settings: Record<string, number>;
  tally: FuzzTally;
  promises: PromiseVerdict[];
  rss: [number, number][];
  resumeOutcomes: Map<string, number>;
  probes: Map<string, string>;
  durationS: number;
}

const table = (title: string, map: Map<string, number>) => [
  `| ${title} | Count |`,
  '| --- | ---: |',
  ...[...map].sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${v} |`),
  '',
];

export function writeFuzzReport(result: FuzzResult): string[] {
  const { tally, promises, settings } = result;
  const generated = new Date().toISOString();
  const json = {
    generated,
    settings,
    durationS: result.durationS,
    sent: tally.sent,
    connections: tally.connections,
    promises,
    errorCodes: Object.fromEntries(tally.errorCodes),
    closeCodes: Object.fromEntries(tally.closeCodes),
    outageAnswers: Object.fromEntries(tally.outageAnswers),
    silentCloses: Object.fromEntries(tally.silentCloses),
    resumeOutcomes: Object.fromEntries(result.resumeOutcomes),
    sessionProbes: Object.fromEntries(result.probes),
    rssMb: result.rss,
  };
  writeFileSync(join(RESULTS, 'fuzz-report.json'), `${JSON.stringify(json, null, 2)}\n`);
  const lines = [
    '# Fuzz report',
    '',
    `Generated ${generated} by \`npm run fuzz\` (${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ', ',
      )}): ${tally.sent} frames over ${tally.connections} connections in ${result.durationS.toFixed(0)} s. ` +
      'Repeat exactly with the same `--seed`.',
    '',
    '| Promise | Verdict | Measured |',
    '| --- | --- | --- |',
    ...promises.map(
      (p) => `| ${p.promise} | ${p.held ? 'held' : '**BROKEN**'} | ${p.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
    '![RSS](fuzz-report.svg)',
    '',
    ...table('Error code received', tally.errorCodes),
    ...table('Close code (not counting our own)', tally.closeCodes),
    ...table('Close without an error frame, after frame kind → code', tally.silentCloses),
    ...table('Frame kind answered STORE_UNAVAILABLE / INTERNAL', tally.outageAnswers),
    ...table('Resuming a session the fuzzers left', result.resumeOutcomes),
    '| Session probe (subscribe, drop, publish, resume) | Outcome |',
    '| --- | --- |',
    ...[...result.probes].map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ];
  writeFileSync(join(RESULTS, 'fuzz-report.md'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(RESULTS, 'fuzz-report.svg'),
    lineChart('Fuzz: gateway RSS (MB)', 'seconds', [{ name: 'RSS MB', points: result.rss }]),
  );
  return ['fuzz-report.md', 'fuzz-report.json', 'fuzz-report.svg'].map((f) => join(RESULTS, f));
}
