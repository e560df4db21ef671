/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that CI
 * systems which do not know vitest can still read, after a "failed: project file >
 * name: error" line per failed test and a "flaky: …" line per test that passed only when
 * retried (.ci/run repeats both last, where a cut log shows them).
 */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const failures: string[] = [];
    const flaky: string[] = [];
    for (const module of testModules) {
      const where = `${module.project.name} ${relative(process.cwd(), module.moduleId)}`;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') {
          counts.passed++;
          if (test.diagnostic()?.flaky) flaky.push(`flaky: ${where} > ${test.fullName}`);
        } else if (state === 'failed') {
          counts.failed++;
          const why = test.result().errors?.[0]?.message.split('\n')[0] ?? '';
          failures.push(`failed: ${where} > ${test.fullName}: ${why}`);
        } else counts.skipped++;
      }
    }
    for (const line of [...flaky, ...failures]) process.stdout.write(`\n${line}`);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
