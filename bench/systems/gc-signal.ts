/**
 * How the bench asks a server under test for a full GC and reads what it reports:
 * the bench sends GC_SIGNAL; the server's preload (gc-on-signal.mjs) collects, then
 * writes a GcReport to gcReportPath(pid) — its collection count, so the bench
 * knows the GC is done, and the young generation's size at that moment.
 * SIGWINCH, not SIGUSR2: close-with-grace (Tether's shutdown) treats SIGUSR2 as
 * "exit"; SIGWINCH is ignored by default and these processes have no terminal.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GC_SIGNAL = 'SIGWINCH';

export interface GcReport {
  /** Forced GCs so far. */
  collections: number;
  /** Committed bytes of V8's young generation (new_space + new_large_object_space) after the GC. */
  youngBytes: number;
}

/** The preload (gc-on-signal.mjs) appends `<pid>.json`. */
export const GC_REPORT_PREFIX = join(tmpdir(), 'tether-bench-gc-');
export const gcReportPath = (pid: number) => `${GC_REPORT_PREFIX}${pid}.json`;

/** The latest report of `pid`; zeros before its first forced GC. */
export function readGcReport(pid: number): GcReport {
  try {
    return JSON.parse(readFileSync(gcReportPath(pid), 'utf8')) as GcReport;
  } catch {
    return { collections: 0, youngBytes: 0 };
  }
}
