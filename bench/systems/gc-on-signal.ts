/**
 * Preloaded into every server under test (with --expose-gc): on GC_SIGNAL, a full
 * garbage collection, then a report of the young generation's size (gc-signal.ts).
 *
 * Why the young generation: V8 grows its semi-spaces under allocation (to 2 × 16 MB)
 * and shrinks them only at a GC that comes after ~5 s of low allocation, so 30 MB
 * can leave RSS between two readings with no connection opened or closed. `gc()`
 * does not shrink them. The idle-memory scenario subtracts this size from RSS, so
 * its per-connection figures measure connections, not that heuristic.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { GC_SIGNAL, type GcReport, gcReportPath } from './gc-signal.ts';

const YOUNG = new Set(['new_space', 'new_large_object_space']);
const reportPath = gcReportPath(process.pid);
rmSync(reportPath, { force: true }); // left by an earlier process that had this pid and was killed
let collections = 0;

process.on(GC_SIGNAL, () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const youngBytes = getHeapSpaceStatistics()
    .filter((space) => YOUNG.has(space.space_name))
    .reduce((n, space) => n + space.physical_space_size, 0);
  writeFileSync(reportPath, JSON.stringify({ collections: ++collections, youngBytes } satisfies GcReport));
});
