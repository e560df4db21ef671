/**
 * Preloaded into every server under test (with --expose-gc): on the bench's GC
 * signal, a full garbage collection, then a report of the young generation's size
 * (gc-signal.ts names the signal and the report's path; server-process.ts passes
 * both in the environment).
 *
 * Plain JavaScript with no imports of the bench's TypeScript, so a server that is
 * JavaScript already (Tether's dist/, as `npm start` runs it) starts without a
 * TypeScript loader: tsx's module hooks added 0.6-1.5 s to every Tether start.
 *
 * Why the young generation: V8 grows its semi-spaces under allocation (to 2 × 16 MB)
 * and shrinks them only at a GC that comes after ~5 s of low allocation, so 30 MB
 * can leave RSS between two readings with no connection opened or closed. `gc()`
 * does not shrink them. The idle-memory scenario subtracts this size from RSS, so
 * its per-connection figures measure connections, not that heuristic.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const YOUNG = new Set(['new_space', 'new_large_object_space']);
const signal = process.env.BENCH_GC_SIGNAL;
const reportPath = `${process.env.BENCH_GC_REPORT_PREFIX}${process.pid}.json`;
if (signal && process.env.BENCH_GC_REPORT_PREFIX) {
  rmSync(reportPath, { force: true }); // left by an earlier process that had this pid and was killed
  let collections = 0;
  process.on(signal, () => {
    const gc = globalThis.gc;
    gc?.();
    gc?.();
    const youngBytes = getHeapSpaceStatistics()
      .filter((space) => YOUNG.has(space.space_name))
      .reduce((n, space) => n + space.physical_space_size, 0);
    writeFileSync(reportPath, JSON.stringify({ collections: ++collections, youngBytes }));
  });
}
