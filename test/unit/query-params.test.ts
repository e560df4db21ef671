/**
 * The strict query-string reader of the HTTP routes (src/http/query-params.ts): integers are
 * plain decimal digits, booleans their documented spellings, and a parameter unknown or given
 * twice is refused — each refusal naming the parameter.
 */
import { describe, expect, it } from 'vitest';
import { booleanParam, integerParam, parseQuery, textParam } from '../../src/http/query-params.ts';

const params = {
  limit: integerParam(0, 1000),
  flag: booleanParam,
  word: textParam('a word', '^[a-z]{1,8}$'),
};

describe('parseQuery', () => {
  it('reads each known parameter by its rule; an absent one stays absent', () => {
    expect(parseQuery('limit=007&flag=yes&word=abc', params)).toEqual({
      values: { limit: 7, flag: true, word: 'abc' },
    });
    expect(parseQuery('', params)).toEqual({ values: {} });
  });

  it.each(['0x10', '1e1', '0b11', '+5', '-0', '%205%20', '5.0', '%0A7', '', '1001', '1'.repeat(16)])(
    'limit=%s is not an integer from 0 to 1000',
    (text) => {
      expect(parseQuery(`limit=${text}`, params)).toEqual({
        problem: expect.stringMatching(/^limit: must be an integer from 0 to 1000 \(got /),
      });
    },
  );

  it('booleans are true, 1, yes or false, 0, no; anything else is refused', () => {
    for (const text of ['true', '1', 'yes'])
      expect(parseQuery(`flag=${text}`, params)).toEqual({ values: { flag: true } });
    for (const text of ['false', '0', 'no'])
      expect(parseQuery(`flag=${text}`, params)).toEqual({ values: { flag: false } });
    for (const text of ['ture', 'on', 'TRUE', 'Yes', '', ' true'])
      expect(parseQuery(`flag=${encodeURIComponent(text)}`, params)).toEqual({
        problem: expect.stringContaining('flag: must be true or false'),
      });
  });

  it('refuses an unknown parameter, or one given twice, naming it', () => {
    expect(parseQuery('limit=1&foo=bar', params)).toEqual({
      problem: 'unknown parameter "foo" (allowed: limit, flag, word)',
    });
    expect(parseQuery('__proto__=1', params)).toMatchObject({
      problem: expect.stringContaining('unknown parameter'),
    });
    expect(parseQuery('limit=1&limit=1', params)).toEqual({ problem: 'limit: given more than once' });
    expect(parseQuery('flag', {})).toEqual({ problem: 'unknown parameter "flag" (allowed: none)' });
  });

  it('decodes as a form (+ is a space) and refuses an escape that is not percent-encoded UTF-8', () => {
    expect(parseQuery('word=a%62c&&limit=%31', params)).toEqual({ values: { word: 'abc', limit: 1 } });
    const any = { text: textParam('text', () => true) };
    expect(parseQuery('text=a+b%2Bc', any)).toEqual({ values: { text: 'a b+c' } });
    for (const raw of ['text=%ZZ', 'text=%', 'text=%ED%A0%80', 'text=%FF', 'te%ZZxt=1'])
      expect(parseQuery(raw, any), raw).toEqual({
        problem: expect.stringContaining('not valid percent-encoded UTF-8'),
      });
  });
});
