/**
 * The vitest configuration Stryker runs (`npm run mutation`, stryker.config.json): the unit
 * tests only — the mutated modules are pure, and the integration suite's Redis and
 * processes would make every mutant take seconds.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
