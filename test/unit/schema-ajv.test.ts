/**
 * src/shared/ajv.ts: outside production a malformed schema is refused when compiled
 * (the meta-schema check); in production that check is skipped to start faster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { schemaAjv } from '../../src/shared/ajv.ts';

const MALFORMED = { type: 'object', properties: { n: { type: 'integer', minimum: 'zero' } } };
const before = process.env.NODE_ENV;

afterEach(() => {
  process.env.NODE_ENV = before;
});

describe('schemaAjv', () => {
  it('refuses a malformed schema outside production', () => {
    process.env.NODE_ENV = 'test';
    expect(() => schemaAjv().compile(MALFORMED)).toThrow(/schema is invalid/);
  });

  it('skips the meta-schema check in production, and still validates data', () => {
    process.env.NODE_ENV = 'production';
    const validate = schemaAjv().compile({ type: 'object', properties: { n: { type: 'integer' } } });
    expect(validate({ n: 1 })).toBe(true);
    expect(validate({ n: 'x' })).toBe(false);
  });
});
