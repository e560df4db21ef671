/**
 * `npm run mutation [-- --mutate machines/pool.machine.ts] [-- --concurrency 2]`: Stryker
 * (stryker.config.json) with the arguments given, then the score per file counting the
 * equivalents listed in chaos/mutation-equivalents.md; exits 1 when a file is under 95 %.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { scoreFromFiles } from './lib/mutation-score.ts';
import { ROOT } from './lib/processes.ts';

const TARGET = 95;
const stryker = spawnSync('npx', ['stryker', 'run', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (stryker.status !== 0) process.exit(stryker.status ?? 1);

const { files, stale } = scoreFromFiles(
  join(ROOT, 'reports', 'mutation', 'mutation.json'),
  join(ROOT, 'chaos', 'mutation-equivalents.md'),
);
const rows = files.map(
  (f) =>
    `${f.adjusted >= TARGET ? 'ok  ' : 'LOW '} ${f.file.padEnd(34)} ${f.raw.toFixed(2).padStart(6)} % raw, ` +
    `${f.adjusted.toFixed(2).padStart(6)} % with ${f.equivalent} listed equivalent(s); ${f.survived - f.equivalent} open`,
);
process.stdout.write(`\nMutation score per file (target ${TARGET} %):\n${rows.join('\n')}\n`);
for (const f of files) for (const mutant of f.open) process.stdout.write(`  survived: ${mutant}\n`);
for (const e of stale) {
  process.stdout.write(
    `  stale equivalent (no longer survives here): ${e.file}:${e.line} ${e.mutator} → ${e.replacement}\n`,
  );
}
process.exit(files.every((f) => f.adjusted >= TARGET) ? 0 : 1);
