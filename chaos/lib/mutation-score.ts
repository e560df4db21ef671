/**
 * Mutation scores per file from Stryker's JSON report, counting the equivalent mutants
 * listed (with the reason) in chaos/mutation-equivalents.md as accounted for: a mutant
 * no test of user-visible behaviour can kill is not a missing test. A listed mutant that
 * no longer survives — killed, or moved by an edit — is reported as stale.
 */
import { readFileSync } from 'node:fs';

interface StrykerMutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number } };
}

export interface Equivalent {
  file: string;
  line: number;
  mutator: string;
  replacement: string;
  why: string;
}

export interface FileScore {
  file: string;
  killed: number;
  survived: number;
  equivalent: number;
  raw: number;
  adjusted: number;
  open: string[];
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const unquote = (cell: string) => cell.trim().replace(/^`(.*)`$/, '$1');

/** Rows of the table in mutation-equivalents.md: | File | Line | Mutator | Replacement | Why |. */
export function parseEquivalents(markdown: string): Equivalent[] {
  return markdown
    .split('\n')
    .filter((line) => /^\|\s*`[^`]+`\s*\|\s*\d+\s*\|/.test(line))
    .map((line) => {
      const cells = line.slice(1, -1).split(' | ');
      const [file = '', at = '0', mutator = '', replacement = '', ...why] = cells;
      return {
        file: unquote(file),
        line: Number(at),
        mutator: mutator.trim(),
        replacement: unquote(replacement),
        why: why.join(' | ').trim(),
      };
    });
}

const sameMutant = (e: Equivalent, file: string, m: StrykerMutant) =>
  e.file === file &&
  e.line === m.location.start.line &&
  e.mutator === m.mutatorName &&
  e.replacement === (m.replacement ?? '');

export function score(
  report: { files: Record<string, { mutants: StrykerMutant[] }> },
  equivalents: Equivalent[],
) {
  const used = new Set<Equivalent>();
  const files: FileScore[] = Object.entries(report.files).map(([file, { mutants }]) => {
    let killed = 0;
    let survived = 0;
    let equivalent = 0;
    const open: string[] = [];
    for (const mutant of mutants) {
      if (DETECTED.has(mutant.status)) killed++;
      if (!UNDETECTED.has(mutant.status)) continue;
      survived++;
      const listed = equivalents.find((e) => sameMutant(e, file, mutant));
      if (listed) {
        used.add(listed);
        equivalent++;
      } else
        open.push(
          `${file}:${mutant.location.start.line} ${mutant.mutatorName} → ${mutant.replacement ?? ''}`,
        );
    }
    const pct = (n: number, d: number) => (d === 0 ? 100 : (100 * n) / d);
    return {
      file,
      killed,
      survived,
      equivalent,
      raw: pct(killed, killed + survived),
      adjusted: pct(killed, killed + survived - equivalent),
      open,
    };
  });
  const mutated = new Set(Object.keys(report.files));
  const stale = equivalents.filter((e) => mutated.has(e.file) && !used.has(e));
  return { files, stale };
}

export function scoreFromFiles(reportPath: string, equivalentsPath: string) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  return score(report, parseEquivalents(readFileSync(equivalentsPath, 'utf8')));
}
