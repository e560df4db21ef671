/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that CI
 * systems which do not know vitest can still read, after a "failed: project file >
 * name: error" line per failed test, a "flaky: …" line per test that passed only when
 * retried, and an "error: …" line per error outside any test — one thrown by a file's
 * hooks or left unhandled after its test ended — which fails the run while every
 * test passed (.ci/run repeats all three last, where a cut log shows them).
 */
import { relative } from 'node:path';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

const firstLine = (error: SerializedError | undefined) => error?.message?.split('\n')[0] ?? '';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    _reason: TestRunEndReason,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const failures: string[] = [];
    const flaky: string[] = [];
    const errors = unhandledErrors.map(
      (error) => `error: unhandled ${error.name ?? 'error'}: ${firstLine(error)}`,
    );
    for (const module of testModules) {
      const where = `${module.project.name} ${relative(process.cwd(), module.moduleId)}`;
      for (const error of module.errors()) errors.push(`error: ${where}: ${firstLine(error)}`);
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') {
          counts.passed++;
          if (test.diagnostic()?.flaky) flaky.push(`flaky: ${where} > ${test.fullName}`);
        } else if (state === 'failed') {
          counts.failed++;
          failures.push(`failed: ${where} > ${test.fullName}: ${firstLine(test.result().errors?.[0])}`);
        } else counts.skipped++;
      }
    }
    for (const line of [...flaky, ...failures, ...errors]) process.stdout.write(`\n${line}`);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
