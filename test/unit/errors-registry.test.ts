/**
 * src/shared/errors.ts: the one registry of stable error codes. These checks
 * hold for every entry, including the ones added later.
 */
import { describe, expect, it } from 'vitest';
import { errorFrame, TetherError } from '../../src/core/tether-error.ts';
import {
  ERRORS,
  type ErrorCode,
  errorSpec,
  isErrorCode,
  jitteredRetryAfter,
} from '../../src/shared/errors.ts';

const entries = Object.entries(ERRORS) as [ErrorCode, (typeof ERRORS)[ErrorCode]][];
/** RFC 6455 §7.4.1 codes that fit a Tether error; 4000–4999 is the application range. */
const STANDARD_CLOSE_CODES = [1007, 1008, 1009, 1011, 1012, 1013];

describe('the error registry', () => {
  it('has the codes the architecture promises', () => {
    for (const code of [
      'AUTH_INVALID_TOKEN',
      'MESSAGE_TOO_LARGE',
      'MALFORMED_MESSAGE',
      'FORBIDDEN_CHANNEL',
      'RESUME_EXPIRED',
      'INTERNAL',
    ]) {
      expect(isErrorCode(code), code).toBe(true);
    }
  });

  it.each(entries)('%s: codes are SCREAMING_SNAKE_CASE', (code) => {
    expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it.each(entries)('%s: has a category, a message and a recovery a person can act on', (_code, spec) => {
    expect(['connection', 'event', 'client', 'system']).toContain(spec.category);
    expect(spec.message.trim().length).toBeGreaterThan(10);
    expect(spec.recovery.trim().length).toBeGreaterThan(10);
    expect(spec.message).toMatch(/\.$/); // a sentence
    expect(spec.recovery).toMatch(/[.)]$/);
  });

  it.each(entries)('%s: close code is a fitting RFC 6455 code or in 4000–4999', (_code, spec) => {
    if (!('closeCode' in spec)) return;
    const closeCode = spec.closeCode as number;
    expect(Number.isInteger(closeCode)).toBe(true);
    expect(STANDARD_CLOSE_CODES.includes(closeCode) || (closeCode >= 4000 && closeCode <= 4999)).toBe(true);
  });

  it.each(entries)('%s: retryAfterMs only on retryable codes, and sane', (_code, spec) => {
    if (!('retryAfterMs' in spec)) return;
    expect(spec.retryable).toBe(true);
    expect(Number.isInteger(spec.retryAfterMs)).toBe(true);
    expect(spec.retryAfterMs).toBeGreaterThan(0);
    expect(spec.retryAfterMs).toBeLessThanOrEqual(5 * 60_000);
  });

  it('application close codes are unique per code (a client can tell them apart)', () => {
    const owners = new Map<number, ErrorCode>();
    for (const [code, spec] of entries) {
      if (!('closeCode' in spec) || (spec.closeCode as number) < 4000) continue;
      expect(owners.get(spec.closeCode as number), `${code} reuses ${spec.closeCode}`).toBeUndefined();
      owners.set(spec.closeCode as number, code);
    }
  });

  it('every connection limit refuses with its own code and close code (issue 3: per IP and per user apart)', () => {
    const limits = [
      'CONNECT_RATE_LIMITED',
      'USER_CONNECT_RATE_LIMITED',
      'TOO_MANY_CONNECTIONS',
      'USER_TOO_MANY_CONNECTIONS',
      'AUTH_RATE_LIMITED',
    ] as const;
    const closeCodes = limits.map((code) => errorSpec(code).closeCode);
    expect(new Set(closeCodes).size).toBe(limits.length);
    for (const code of limits) expect(errorSpec(code).retryable, code).toBe(true);
  });

  it('jitteredRetryAfter: the registry hint jittered ±50 %, nothing for a code without one', () => {
    expect(jitteredRetryAfter('LOAD_SHED', () => 0)).toBe(1000);
    expect(jitteredRetryAfter('LOAD_SHED', () => 0.999_999)).toBe(3000);
    expect(jitteredRetryAfter('SERVICE_RESTART', () => 0.5)).toBe(500);
    expect(jitteredRetryAfter('MALFORMED_MESSAGE')).toBeUndefined();
  });

  it('1012 (service restart) and 1013 (try again later) are retryable', () => {
    for (const [code, spec] of entries) {
      if ('closeCode' in spec && (spec.closeCode === 1012 || spec.closeCode === 1013)) {
        expect(spec.retryable, code).toBe(true);
      }
    }
  });

  it('isErrorCode knows the registry and nothing else', () => {
    expect(isErrorCode('INTERNAL')).toBe(true);
    expect(isErrorCode('internal')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(errorSpec('INTERNAL')).toBe(ERRORS.INTERNAL);
  });
});

describe('error frames', () => {
  it('carry the registry entry and always the correlation ID', () => {
    for (const [code, spec] of entries) {
      const frame = errorFrame(code, 'corr-9');
      expect(frame).toMatchObject({
        type: 'error',
        code,
        category: spec.category,
        message: spec.message,
        recovery: spec.recovery,
        retryable: spec.retryable,
        correlationId: 'corr-9',
      });
      expect(frame.retryAfterMs).toBe('retryAfterMs' in spec ? spec.retryAfterMs : undefined);
    }
  });

  it('add ref, detail and a jittered retryAfterMs when given, and omit them otherwise', () => {
    const frame = errorFrame('SERVER_BUSY', 'c', { ref: 'r1', detail: 'full', retryAfterMs: 1234 });
    expect(frame).toMatchObject({ ref: 'r1', detail: 'full', retryAfterMs: 1234 });
    const bare = errorFrame('MALFORMED_MESSAGE', 'c');
    expect(Object.keys(bare)).not.toContain('ref');
    expect(Object.keys(bare)).not.toContain('detail');
    expect(Object.keys(bare)).not.toContain('retryAfterMs');
  });

  it('TetherError keeps code, detail and cause', () => {
    const cause = new SyntaxError('bad');
    const error = new TetherError('MALFORMED_MESSAGE', { cause, detail: 'not valid JSON' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TetherError');
    expect(error.code).toBe('MALFORMED_MESSAGE');
    expect(error.detail).toBe('not valid JSON');
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('(not valid JSON)');
  });
});
