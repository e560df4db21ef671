/** User IDs (tokens' `sub`, the control routes' `:userId`): 1–256 characters of well-formed text. */
import { describe, expect, it } from 'vitest';
import { isUserId, userIdProblem } from '../../src/shared/identifiers.ts';

describe('isUserId', () => {
  it('takes any well-formed text of 1–256 characters, astral characters and controls included', () => {
    for (const id of ['a', 'u'.repeat(256), '😀', 'é/%', '\u0000', '__proto__', '\ufffd'])
      expect(isUserId(id), JSON.stringify(id)).toBe(true);
  });

  it('refuses the empty, the too long, and text with a lone surrogate (no UTF-8 form: U+FFFD in Redis)', () => {
    expect(userIdProblem('')).toMatch(/1–256/);
    expect(userIdProblem('u'.repeat(257))).toMatch(/1–256/);
    for (const id of ['\ud800', '\udc00', `a\ud83d`, `\ude00b`, '😀'.slice(1)])
      expect(userIdProblem(id), JSON.stringify(id)).toMatch(/lone surrogate/);
  });
});
