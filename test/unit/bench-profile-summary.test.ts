/**
 * bench/report/profile-summary.ts on a real V8 CPU profile: a child process spins
 * in a named function under `--cpu-prof`, and the summary must name that function
 * as where the time went, and the report must show it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { summarizeProfiles } from '../../bench/report/profile-summary.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench profile summary', () => {
  it('names the function that burned the CPU, and the report shows it', () => {
    const group = join(dir, 'traffic');
    mkdirSync(group);
    const spin =
      'function spinForTheBench(){const end=Date.now()+300;let x=0;while(Date.now()<end)x+=Math.sqrt(x+1);return x}spinForTheBench();';
    execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', group, '-e', spin]);

    const [summary] = summarizeProfiles(dir);
    expect(summary?.group).toBe('traffic');
    expect(summary?.files).toBe(1);
    expect(summary?.busyMs).toBeGreaterThan(100);
    const top = summary?.functions[0];
    expect(top?.name).toMatch(/^spinForTheBench/);
    expect(top?.pct).toBeGreaterThan(50);

    const markdown = renderMarkdown(
      {
        run: {
          mode: 'quick',
          startedAt: '2026-01-01T00:00:00.000Z',
          durationS: 1,
          scenarios: [],
          systems: [],
          generators: 1,
          tetherSettings: {},
        },
        machine: {
          cpuModel: 'test',
          cores: 2,
          memTotalBytes: 2 ** 30,
          os: 'test',
          kernel: 'test',
          node: 'v20',
          v8: 'x',
          loadAverageAtStart: [0, 0, 0],
          commit: 'abc',
          clockTicksPerS: 100,
          openFilesLimit: '1',
          versions: {},
        },
        results: [],
        notes: [],
        profiles: summarizeProfiles(dir),
      },
      [],
      new Map(),
    );
    expect(markdown).toContain('## Where the time goes');
    expect(markdown).toContain('### traffic');
    expect(markdown).toMatch(/`spinForTheBench[^`]*` \| \d/);
  });
});
