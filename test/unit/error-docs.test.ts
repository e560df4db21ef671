/**
 * docs/errors.md is generated from the registry (scripts/gen-error-docs.ts); this
 * fails when someone changes src/shared/errors.ts without regenerating it, and when
 * docs/protocol.md's close-code table misses a code the registry closes with.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_DOCS_PATH, renderErrorDocs } from '../../scripts/gen-error-docs.ts';
import { ERRORS, type ErrorSpec } from '../../src/shared/errors.ts';

const PROTOCOL_DOCS_PATH = new URL('../../docs/protocol.md', import.meta.url);

describe('docs/errors.md', () => {
  it('is up to date with the registry (run `npm run docs:errors` to regenerate)', () => {
    const onDisk = readFileSync(ERROR_DOCS_PATH, 'utf8');
    expect(onDisk === renderErrorDocs(), 'docs/errors.md is stale: run `npm run docs:errors`').toBe(true);
  });

  it('has one table row per code, with its close code, retryability and recovery', () => {
    const doc = renderErrorDocs();
    for (const [code, spec] of Object.entries(ERRORS) as [string, ErrorSpec][]) {
      const rows = doc.split('\n').filter((line) => line.startsWith(`| \`${code}\` |`));
      expect(rows, code).toHaveLength(1);
      const cells = (rows[0] as string).split(' | ');
      expect(cells[1]).toBe(spec.category);
      expect(cells[2]).toBe(spec.closeCode === undefined ? '—' : String(spec.closeCode));
      expect(cells[3]).toBe(spec.retryable ? 'yes' : 'no');
      expect(cells[4]).toBe(spec.retryAfterMs === undefined ? '—' : String(spec.retryAfterMs));
    }
  });

  it('keeps any registry text from breaking the table', () => {
    const registry: Record<string, ErrorSpec> = {
      WEIRD: {
        category: 'client',
        closeCode: 4999,
        retryable: false,
        message: 'Pipes | and <tags> and\nnewlines.',
        recovery: 'Use `a|b` <ms>-<seq>.',
      },
    };
    const row = renderErrorDocs(registry)
      .split('\n')
      .find((line) => line.startsWith('| `WEIRD`'));
    expect(row).toBe(
      '| `WEIRD` | client | 4999 | no | — | Pipes \\| and &lt;tags&gt; and newlines. | Use `a\\|b` &lt;ms&gt;-&lt;seq&gt;. |',
    );
  });
});

describe('docs/protocol.md', () => {
  it('lists every close code the registry uses, with its error codes', () => {
    const doc = readFileSync(PROTOCOL_DOCS_PATH, 'utf8');
    for (const [code, spec] of Object.entries(ERRORS) as [string, ErrorSpec][]) {
      if (spec.closeCode === undefined) continue;
      const row = doc.split('\n').find((line) => line.startsWith(`| ${spec.closeCode} |`));
      expect(row, `close code ${spec.closeCode} missing from the table in docs/protocol.md`).toBeDefined();
      expect(row, `${code} missing from the ${spec.closeCode} row in docs/protocol.md`).toContain(
        `\`${code}\``,
      );
    }
  });
});
