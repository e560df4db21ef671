/**
 * Command-line options of `npm run bench -- [options]`.
 */
export const SYSTEM_NAMES = [
  'uws-raw',
  'uws-durable',
  'tether',
  'tether-ws',
  'tether-sse',
  'socketio-redis-streams',
  'socketio',
  'ws',
] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export interface BenchOptions {
  /** Reduced sizes and durations so the whole run ends in about 3 minutes. */
  quick: boolean;
  /** Only scenarios whose name is listed (a scenario module runs if it produces one of them). */
  scenarios: string[];
  /** Only these systems (default: all). */
  systems: SystemName[];
  /** Compare Tether's ratios with the committed baseline and exit 1 on a regression (bench/check/). */
  check: boolean;
  /** Profile the tether server (`--cpu-prof`) into bench/results/profiles/<group>/ and summarize it in the report. */
  cpuProf: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--scenario NAME]... [--system NAME]... [--check] [--cpu-prof]
  --quick          reduced set, about 3 minutes
  --scenario NAME  relay | latency | fanout | idle-memory | connect-cost | reconnect-storm |
                   reconnect-storm-rolling | admission | scale
                   (repeatable or comma-separated); idempotency, presence, wire and redis-topologies
                   run only when named
  --system NAME    ${SYSTEM_NAMES.join(' | ')} (repeatable or comma-separated)
  --check          compare Tether's ratios to uws-raw and uws-durable with the committed baseline;
                   exit 1 on a regression beyond the tolerance (run it with --quick before a release)
  --cpu-prof       profile the tether server (bench/results/profiles/) and say where the time goes`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    scenarios: [],
    systems: [...SYSTEM_NAMES],
    check: false,
    cpuProf: false,
  };
  const systems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (!v) throw new UsageError(`${flag} needs a value`);
      return v.split(',').filter(Boolean);
    };
    if (flag === '--quick') options.quick = true;
    else if (flag === '--cpu-prof') options.cpuProf = true;
    else if (flag === '--check') options.check = true;
    else if (flag === '--scenario') options.scenarios.push(...value());
    else if (flag === '--system') systems.push(...value());
    else throw new UsageError(`unknown option ${arg}`);
  }
  for (const s of systems) {
    if (!(SYSTEM_NAMES as readonly string[]).includes(s)) throw new UsageError(`unknown system ${s}`);
  }
  if (options.check && options.cpuProf)
    throw new UsageError('--check and --cpu-prof do not mix: the profiler costs Tether real CPU');
  if (systems.length > 0) options.systems = systems as SystemName[];
  return options;
}
