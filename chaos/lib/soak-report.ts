/** chaos/results/soak-report.{json,md,svg}: resource slopes per hour, the samples, the witnesses' check. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Totals } from './checker.ts';
import { RESULTS } from './processes.ts';
import { lineChart } from './svg-chart.ts';

export interface SoakSample {
  minutes: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  redisMb: number;
}

export interface SoakResult {
  settings: Record<string, number>;
  counters: Record<string, number>;
  samples: SoakSample[];
  slopes: Record<string, { perHour: number; r2: number }>;
  witnessTotals: Totals;
  alive: boolean;
  acked: number;
  fatal: string[];
}

const UNITS: Record<string, string> = {
  rssMb: 'MB RSS',
  heapMb: 'MB heap used',
  fds: 'open fds',
  redisMb: 'MB Redis used_memory',
};

export function writeSoakReport(result: SoakResult): string[] {
  const generated = new Date().toISOString();
  writeFileSync(join(RESULTS, 'soak-report.json'), `${JSON.stringify({ generated, ...result }, null, 2)}\n`);
  const first = result.samples[0];
  const last = result.samples.at(-1);
  const t = result.witnessTotals;
  const lines = [
    '# Soak report',
    '',
    `Generated ${generated} by \`npm run soak\` (${Object.entries(result.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}). ${Object.entries(result.counters)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}; ${result.acked} events acked over HTTP.`,
    '',
    'Slopes are least-squares fits over the samples after the warm-up (the first minute, or the first fifth of a short run). ' +
      'R² near 1 means steady growth; a slope with R² near 0 is noise.',
    '',
    '| Gateway resource | First | Last | Slope per hour | R² |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...Object.entries(result.slopes).map(([key, { perHour, r2 }]) => {
      const pick = (s?: SoakSample) => (s ? (s[key as keyof SoakSample] as number).toFixed(1) : '—');
      return `| ${UNITS[key] ?? key} | ${pick(first)} | ${pick(last)} | ${perHour >= 0 ? '+' : ''}${perHour.toFixed(2)} | ${r2.toFixed(2)} |`;
    }),
    '',
    `Witnesses (clients dropped and resumed every few seconds for the whole run): ${t.expected} deliveries checked, ` +
      `${t.lostSilently} lost silently, ${t.lostReported} lost and reported, ${t.duplicates} duplicated, ${t.outOfOrder} out of order. ` +
      `Gateway alive at the end: ${result.alive}; fatal log lines: ${result.fatal.length}.`,
    '',
    '![resources](soak-report.svg)',
    '',
  ];
  writeFileSync(join(RESULTS, 'soak-report.md'), `${lines.join('\n')}\n`);
  const series = (key: keyof SoakSample) =>
    result.samples.filter((s) => Number.isFinite(s[key])).map((s) => [s.minutes, s[key]] as [number, number]);
  writeFileSync(
    join(RESULTS, 'soak-report.svg'),
    lineChart('Soak: gateway resources over time', 'minutes', [
      { name: 'RSS MB', points: series('rssMb') },
      { name: 'heap used MB', points: series('heapMb') },
      { name: 'open fds', points: series('fds') },
      { name: 'Redis used_memory MB', points: series('redisMb') },
    ]),
  );
  return ['soak-report.md', 'soak-report.json', 'soak-report.svg'].map((f) => join(RESULTS, f));
}
