import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_PATH, renderReadme } from '../../scripts/gen-config-docs.ts';

describe('README configuration table', () => {
  it('matches the config schema (run `npm run docs:config` after changing it)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(renderReadme(readme)).toBe(readme);
  });
});
