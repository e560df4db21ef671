/**
 * The vitest configuration Stryker runs (`npm run mutation`, stryker.config.json): the
 * unit tests of the mutated modules only — they are pure, and the integration suite's
 * Redis and processes would make every mutant take seconds. A new unit test of one of
 * those modules belongs in this list.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/backoff*.test.ts',
      'test/unit/client-classify-close.test.ts',
      'test/unit/client-runtime.test.ts',
      'test/unit/client-pure-parts.test.ts',
      'test/unit/client.machine*.test.ts',
      'test/unit/event-ids*.test.ts',
      'test/unit/frame-codec*.test.ts',
      'test/unit/machine-export.test.ts',
      'test/unit/modules-load.test.ts',
      'test/unit/pool.machine*.test.ts',
    ],
    testTimeout: 30_000,
  },
});
