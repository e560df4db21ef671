/**
 * Why did the socket close? One answer per close, from the best evidence first:
 * 1. the gateway's error frame sent just before it closed (it carries everything);
 * 2. the close reason, which the gateway sets to the registry code;
 * 3. the close code alone — RFC 6455 §7.4.1 codes and the registry's 4000–4999 codes.
 */

import type { ClientErrorCode } from './client-errors.ts';
import type { ErrorFrame } from './shared.ts';
import { ERRORS, type ErrorCode, type ErrorSpec, errorSpec, isErrorCode } from './shared.ts';
import { TetherClientError } from './tether-client-error.ts';

/** Close codes with one meaning, whoever closed. */
const BY_CLOSE_CODE: Record<number, ClientErrorCode> = {
  1000: 'CONNECTION_CLOSED', // normal closure, but we did not ask for it
  1001: 'SERVICE_RESTART', // going away: server shutting down or browser navigating
  1005: 'CONNECTION_CLOSED', // no status code in the close frame
  1006: 'CONNECTION_LOST', // abnormal: no close frame at all
  1008: 'POLICY_VIOLATION',
  1009: 'MESSAGE_TOO_LARGE',
  1011: 'INTERNAL',
  1012: 'SERVICE_RESTART',
  1013: 'SERVER_BUSY', // try again later
};

/** Application codes (4000–4999) of the gateway's registry, where one code means one entry. */
const APPLICATION_CODES: Record<number, ErrorCode> = (() => {
  const byCode: Record<number, ErrorCode[]> = {};
  for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]) {
    if (spec.closeCode === undefined || spec.closeCode < 4000) continue;
    const codes = byCode[spec.closeCode] ?? [];
    codes.push(code);
    byCode[spec.closeCode] = codes;
  }
  const unique: Record<number, ErrorCode> = {};
  for (const [closeCode, codes] of Object.entries(byCode))
    if (codes.length === 1) unique[Number(closeCode)] = codes[0]!;
  return unique;
})();

export function classifyClose(closeCode: number, reason: string, lastError?: ErrorFrame): TetherClientError {
  if (lastError && isErrorCode(lastError.code) && errorSpec(lastError.code).closeCode !== undefined) {
    return TetherClientError.fromFrame(lastError, closeCode);
  }
  if (isErrorCode(reason)) return new TetherClientError(reason, { closeCode });
  const known = APPLICATION_CODES[closeCode] ?? BY_CLOSE_CODE[closeCode];
  if (known) return new TetherClientError(known, { closeCode, detail: reason || undefined });
  return new TetherClientError('CONNECTION_CLOSED', {
    closeCode,
    detail: `close code ${closeCode}${reason ? `: ${reason}` : ''}`,
  });
}
