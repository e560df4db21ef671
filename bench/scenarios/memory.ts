/**
 * Memory of a system under test as the idle-memory and scale scenarios read it:
 * VmRSS from /proc/<pid>/status after a forced full GC, minus V8's young
 * generation (reported by the GC preload, bench/systems/gc-on-signal.mjs), the
 * lowest of a few readings. Why each step:
 *   - the GC: compare live memory, not garbage that happened to be there;
 *   - minus the young generation: V8 resizes it by up to 30 MB on its own schedule;
 *   - the lowest reading: V8 unmaps freed pages on a background thread, so one
 *     reading now and then still counts pages that are already gone;
 *   - MEMORY_NODE_ARGS: V8's memory reducer otherwise returns several MB of old
 *     space a few seconds after start-up, into whichever reading comes next.
 */
import { rssBytes } from '../lib/proc-stats.ts';
import { sum } from '../lib/stats.ts';
import { readGcReport } from '../systems/gc-signal.ts';
import type { RunningSystem } from '../systems/system.ts';

export const MEMORY_NODE_ARGS = ['--no-memory-reducer'];
const READINGS = 3;

export interface MemoryReading {
  /** The server processes, young generation excluded. */
  serverBytes: number;
  /** Auxiliary processes (tether: redis-server), plain RSS. */
  auxBytes: number;
}

export async function readMemory(system: RunningSystem): Promise<MemoryReading> {
  let serverBytes = Number.POSITIVE_INFINITY;
  for (let i = 0; i < READINGS; i++) {
    await system.collectGarbage();
    const live = system.serverPids().map((pid) => rssBytes(pid) - readGcReport(pid).youngBytes);
    serverBytes = Math.min(serverBytes, sum(live));
  }
  return { serverBytes, auxBytes: sum(system.auxPids().map(rssBytes)) };
}
