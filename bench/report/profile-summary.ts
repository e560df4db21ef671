/**
 * "Where the time goes": the V8 CPU profiles of the Tether gateway written with
 * `--cpu-prof` (one folder per scenario group under bench/results/profiles/),
 * boiled down to shares of busy time — by area (a package, a src/ folder, GC,
 * socket writes) and by function — for the report. Idle time is left out, and so
 * is start-up (module loading), which no scenario measures.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../systems/server-process.ts';

/** `--cpu-prof` writes here, one folder per scenario group (bench/scenarios/scenario.ts `withSystem`). */
export const PROFILES_DIR = join(REPO_ROOT, 'bench/results/profiles');

/** A profiled run starts empty: profiles of an earlier run would be summarized with its own. */
export function clearProfiles(): void {
  rmSync(PROFILES_DIR, { recursive: true, force: true });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  /** Percent of busy (non-idle, non-start-up) time. */
  pct: number;
}

export interface ProfileSummary {
  /** The scenario group the profiles were taken in (`traffic`, `connections`, …). */
  group: string;
  files: number;
  busyMs: number;
  areas: Share[];
  functions: Share[];
}

const TOP = 12;
const IGNORED = new Set(['(idle)']);
const NATIVE_AREAS: Record<string, string> = {
  '(garbage collector)': 'garbage collection',
  '(program)': 'V8 and native (program)',
  writeUtf8String: 'socket writes (Node net: ioredis)',
  writev: 'socket writes (Node net: ioredis)',
  utf8Slice: 'string decoding',
};

/** One summary per folder of `dir` that holds .cpuprofile files. */
export function summarizeProfiles(dir: string): ProfileSummary[] {
  let groups: string[];
  try {
    groups = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
  return groups
    .map((group) => summarizeGroup(group, join(dir, group)))
    .filter((s): s is ProfileSummary => s !== undefined);
}

function summarizeGroup(group: string, dir: string): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)?.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      if (!frame || IGNORED.has(frame.functionName) || isStartUp(frame.url)) return;
      busy += us;
      add(areas, areaOf(frame), us);
      add(functions, functionLabel(frame), us);
    });
  }
  if (busy === 0) return undefined;
  const shares = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([name, us]) => ({ name, pct: Math.round((1000 * us) / busy) / 10 }));
  return {
    group,
    files: files.length,
    busyMs: Math.round(busy / 1000),
    areas: shares(areas),
    functions: shares(functions),
  };
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

/** Module loading and transpiling: paid once at start, not per operation. */
function isStartUp(url: string): boolean {
  return /node:internal\/(modules|deps\/cjs-module-lexer|bootstrap)|\/node_modules\/(tsx|esbuild)\//.test(
    url,
  );
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return NATIVE_AREAS[functionName] ?? 'native';
  // V8 bills a native call to its JS caller: src/edge is the uWS wrapper, so its time is uWS's.
  if (url.includes('/src/edge/')) return 'uWS (native, via src/edge)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  const area = /\/(src|machines)\/([^/]+)\//.exec(url);
  if (area) return area[1] === 'machines' ? 'machines' : `src/${area[2]}`;
  if (/\/src\/[^/]+\.ts$/.test(url)) return 'src';
  if (url.startsWith('node:')) return 'node core';
  return 'other';
}

function functionLabel(frame: ProfileNode['callFrame']): string {
  const where = frame.url
    ? ` (${frame.url
        .replace(/^file:\/\//, '')
        .replace(/^.*\/node_modules\//, '')
        .replace(/^.*\/(src|machines)\//, '$1/')}:${frame.lineNumber + 1})`
    : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}
