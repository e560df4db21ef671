/**
 * docs/errors.md's close-code table names each code by what it is: a standard code (RFC 6455
 * §7.4.1, IANA's registry) by its standard name, only 4000–4999 as Tether's own — and the
 * generator refuses to render a code below 4000 it has no name for rather than guess.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_DOCS_PATH, renderErrorDocs } from '../../scripts/gen-error-docs.ts';
import type { ErrorSpec } from '../../src/shared/errors.ts';

const TETHER_SPECIFIC = 'Tether-specific (4000–4999)';

/** The close-code table's rows: [close code, meaning]. */
function closeCodeRows(doc: string): [number, string][] {
  return doc
    .split('\n')
    .filter((line) => /^\| \d{4} \| /.test(line))
    .map((line) => {
      const [code, meaning] = line.split(' | ');
      return [Number(code?.slice(2)), meaning as string];
    });
}

const closingWith = (closeCode: number): Record<string, ErrorSpec> => ({
  SOME_CODE: { category: 'client', closeCode, retryable: false, message: 'm', recovery: 'r' },
});

describe('the close codes in docs/errors.md', () => {
  it('calls only 4000–4999 Tether-specific, and 1007 by its RFC 6455 name', () => {
    const rows = closeCodeRows(readFileSync(ERROR_DOCS_PATH, 'utf8'));
    expect(rows.length).toBeGreaterThan(0);
    for (const [code, meaning] of rows)
      expect(meaning === TETHER_SPECIFIC, `${code}: ${meaning}`).toBe(code >= 4000 && code <= 4999);
    expect(rows).toContainEqual([1007, 'Invalid Frame Payload Data']);
  });

  it('names a standard code the registry may come to use, and refuses one it cannot name', () => {
    expect(closeCodeRows(renderErrorDocs(closingWith(1001)))).toEqual([[1001, 'Going Away']]);
    expect(closeCodeRows(renderErrorDocs(closingWith(4999)))).toEqual([[4999, TETHER_SPECIFIC]]);
    expect(() => renderErrorDocs(closingWith(3001))).toThrow(/close code 3001 has no name/);
  });
});
