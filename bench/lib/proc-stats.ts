/**
 * CPU and memory of another process, read from /proc (Linux only), so a server's
 * cost is measured from outside without instrumenting it: CPU = utime + stime of
 * every thread (/proc/<pid>/stat fields 14 and 15, in clock ticks), memory = VmRSS.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`), normally 100: the CPU figures' resolution is 1/this s. */
export const CLK_TCK = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** Total CPU time (user + system, all threads) of `pid`, in µs; 0 when the process is gone. */
export function cpuMicros(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLK_TCK;
}

/**
 * Time the main thread of `pid` (a Node process's event loop, redis-server's command loop)
 * spent runnable but waiting for a core, in µs: the second field of /proc/<pid>/schedstat,
 * ns. What the box's other processes cost this one's latency; the helper threads (V8's GC
 * workers, libuv's pool) are left out, they do not hold up a reply. 0 when the process is
 * gone or the kernel keeps no schedstat.
 */
export function runQueueWaitMicros(pid: number): number {
  try {
    return (Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) || 0) / 1000;
  } catch {
    return 0;
  }
}

/** Resident set size of `pid` in bytes (VmRSS); 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU used by a set of processes between `start()` and `stop()`, with the wall time and their wait for a core. */
export class CpuMeter {
  private readonly startCpu: number[];
  private readonly startWait: number[];
  private readonly startedAt = performance.now();

  constructor(private readonly pids: readonly number[]) {
    this.startCpu = pids.map(cpuMicros);
    this.startWait = pids.map(runQueueWaitMicros);
  }

  /** CPU µs per pid since construction, their sum, run-queue wait µs summed, and elapsed wall ms. */
  read(): { cpuUs: number[]; totalUs: number; waitUs: number; wallMs: number } {
    const cpuUs = this.pids.map((pid, i) => cpuMicros(pid) - (this.startCpu[i] ?? 0));
    const waitUs = this.pids.reduce(
      (sum, pid, i) => sum + runQueueWaitMicros(pid) - (this.startWait[i] ?? 0),
      0,
    );
    return {
      cpuUs,
      totalUs: cpuUs.reduce((a, b) => a + b, 0),
      waitUs,
      wallMs: performance.now() - this.startedAt,
    };
  }
}
