/**
 * packages/client/src/classify-close.ts: why a connection closed, from the best evidence
 * first — the gateway's error frame, then the close reason, then the close code —
 * and the table in docs/client.md, which must say what the code does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyClose } from '../../packages/client/src/classify-close.ts';
import { ERRORS, type ErrorCode, type ErrorSpec } from '../../src/shared/errors.ts';
import type { ErrorFrame } from '../../src/shared/frames.ts';

function errorFrame(code: ErrorCode, overrides: Partial<ErrorFrame> = {}): ErrorFrame {
  return {
    type: 'error',
    code,
    category: 'client',
    message: `the gateway's words for ${code}`,
    recovery: `the gateway's advice for ${code}`,
    retryable: true,
    correlationId: 'corr-9',
    ...overrides,
  };
}

describe('classifyClose — the close code alone', () => {
  it.each([
    { closeCode: 1000, code: 'CONNECTION_CLOSED', retryable: true },
    { closeCode: 1001, code: 'SERVICE_RESTART', retryable: true },
    { closeCode: 1005, code: 'CONNECTION_CLOSED', retryable: true },
    { closeCode: 1006, code: 'CONNECTION_LOST', retryable: true },
    { closeCode: 1008, code: 'POLICY_VIOLATION', retryable: false },
    { closeCode: 1009, code: 'MESSAGE_TOO_LARGE', retryable: false },
    { closeCode: 1011, code: 'INTERNAL', retryable: true },
    { closeCode: 1012, code: 'SERVICE_RESTART', retryable: true },
    { closeCode: 1013, code: 'SERVER_BUSY', retryable: true },
    { closeCode: 4001, code: 'AUTH_INVALID_TOKEN', retryable: false },
    { closeCode: 4002, code: 'AUTH_TOKEN_EXPIRED', retryable: true },
    { closeCode: 4008, code: 'SLOW_CONSUMER', retryable: true },
    { closeCode: 4029, code: 'CONNECT_RATE_LIMITED', retryable: true },
    { closeCode: 4777, code: 'CONNECTION_CLOSED', retryable: true }, // a 4xxx this SDK does not know
    { closeCode: 1003, code: 'CONNECTION_CLOSED', retryable: true },
  ])('$closeCode → $code (retryable: $retryable)', ({ closeCode, code, retryable }) => {
    const error = classifyClose(closeCode, '');
    expect(error).toMatchObject({ code, retryable, closeCode });
    expect(error.message.length).toBeGreaterThan(10); // something a person can read…
    expect(error.recovery.length).toBeGreaterThan(10); // …and act on
  });

  it('an unknown code keeps the code and reason in detail, for the bug report', () => {
    expect(classifyClose(4777, 'proxy said no').detail).toBe('close code 4777: proxy said no');
    expect(classifyClose(4777, '').detail).toBe('close code 4777');
  });

  it('1012 and 1013 carry a wait before retrying — the registry’s default, not one the server sent', () => {
    for (const closeCode of [1012, 1013]) {
      const error = classifyClose(closeCode, '');
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterFromServer).toBe(false);
    }
    const told = classifyClose(1013, '', errorFrame('SERVER_BUSY', { retryAfterMs: 1234 }));
    expect(told).toMatchObject({ retryAfterMs: 1234, retryAfterFromServer: true });
  });
});

describe('classifyClose — precedence: error frame, then close reason, then close code', () => {
  it.each([
    {
      case: 'the error frame wins over reason and code',
      closeCode: 1008,
      reason: 'POLICY_VIOLATION',
      frame: errorFrame('TOO_MANY_ERRORS', { retryAfterMs: 5000 }),
      expected: {
        code: 'TOO_MANY_ERRORS',
        message: "the gateway's words for TOO_MANY_ERRORS",
        retryAfterMs: 5000,
      },
    },
    {
      case: 'the frame’s correlation ID is kept',
      closeCode: 4001,
      reason: '',
      frame: errorFrame('AUTH_INVALID_TOKEN', { retryable: false }),
      expected: { code: 'AUTH_INVALID_TOKEN', correlationId: 'corr-9', retryable: false, closeCode: 4001 },
    },
    {
      case: 'a frame that does not close (no close code in the registry) is not the reason',
      closeCode: 1006,
      reason: '',
      frame: errorFrame('FORBIDDEN_CHANNEL'),
      expected: { code: 'CONNECTION_LOST' },
    },
    {
      case: 'the reason (a registry code) wins over the code',
      closeCode: 1013,
      reason: 'ADMISSION_TIMEOUT',
      frame: undefined,
      expected: { code: 'ADMISSION_TIMEOUT', closeCode: 1013 },
    },
    {
      case: 'the reason names the 1008 rule broken',
      closeCode: 1008,
      reason: 'HELLO_REQUIRED',
      frame: undefined,
      expected: { code: 'HELLO_REQUIRED', retryable: false },
    },
    {
      case: 'a reason that is not a code falls back to the code, kept as detail',
      closeCode: 1013,
      reason: 'upstream busy',
      frame: undefined,
      expected: { code: 'SERVER_BUSY', detail: 'upstream busy' },
    },
  ])('$case', ({ closeCode, reason, frame, expected }) => {
    expect(classifyClose(closeCode, reason, frame)).toMatchObject(expected);
  });
});

/** The rows of the close-code table under "Why a connection closed" in docs/client.md. */
function documentedRows(): { codes: string; code: string; retried: string }[] {
  const doc = readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('| Close code'));
  const all = table.split('\n');
  const lines = all.slice(
    0,
    all.findIndex((line) => !line.startsWith('|')),
  );
  return lines.slice(2).map((line) => {
    const [codes = '', code = '', retried = ''] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    return { codes, code: /`([A-Z_]+)`/.exec(code)?.[1] ?? '', retried };
  });
}

describe('docs/client.md close-code table', () => {
  const rows = documentedRows();

  it('is there', () => {
    expect(rows.length).toBeGreaterThanOrEqual(9);
  });

  it.each(rows)('row "$codes" matches classifyClose', ({ codes, code, retried }) => {
    const retryable = retried.startsWith('yes') ? true : retried.startsWith('no') ? false : undefined;
    const range = /^(\d+)–(\d+)$/.exec(codes);
    if (range) {
      // "the registry entry with that close code": every entry with a code of its own in the range.
      const [from, to] = [Number(range[1]), Number(range[2])];
      const entries = (Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]).filter(
        ([, spec]) => spec.closeCode !== undefined && spec.closeCode >= from && spec.closeCode <= to,
      );
      expect(entries.length).toBeGreaterThan(0);
      for (const [name, spec] of entries) expect(classifyClose(spec.closeCode ?? 0, '').code).toBe(name);
      return;
    }
    const closeCodes = codes === 'other 4xxx' ? [4777, 4999] : codes.split(',').map((c) => Number(c.trim()));
    for (const closeCode of closeCodes) {
      expect(Number.isInteger(closeCode)).toBe(true);
      const error = classifyClose(closeCode, '');
      expect(error.code).toBe(code);
      if (retryable !== undefined) expect(error.retryable).toBe(retryable);
    }
  });
});
