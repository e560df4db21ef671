/**
 * The machine and software a run measured, recorded next to its figures: numbers
 * from a 2-core box shared with other work are not comparable to a quiet 16-core
 * one, and the load average says how quiet this one was.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../systems/server-process.ts';
import { CLK_TCK } from './proc-stats.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memTotalBytes: number;
  os: string;
  kernel: string;
  node: string;
  v8: string;
  /** Clock ticks per second: the resolution of every CPU figure (1/this s). */
  clockTicksPerS: number;
  /** RLIMIT_NOFILE of the bench process (each generator and server inherits it). */
  openFilesLimit: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverageAtStart: number[];
  versions: Record<string, string>;
  /** The commit measured, `+dirty` when the working tree had changes. */
  commit: string;
}

const PACKAGES = [
  'uWebSockets.js',
  'socket.io',
  '@socket.io/redis-streams-adapter',
  'ws',
  'xstate',
  'ioredis',
];

export function machineInfo(): MachineInfo {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memTotalBytes: os.totalmem(),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    v8: process.versions.v8,
    clockTicksPerS: CLK_TCK,
    openFilesLimit: openFilesLimit(),
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    versions: {
      ...Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
      'redis-server': run('redis-server', ['--version']).match(/v=(\S+)/)?.[1] ?? 'unknown',
    },
    commit: commit(),
  };
}

function osName(): string {
  try {
    return readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

function openFilesLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
    return line ? `${line[1]} soft / ${line[2]} hard` : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `name@version` as installed (uWebSockets.js is an npm alias: its real name tells which build). */
function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return pkg.name === name ? pkg.version : `${pkg.name}@${pkg.version}`;
  } catch {
    return 'not installed';
  }
}

function commit(): string {
  const head = run('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']).trim() || 'unknown';
  const dirty = run('git', ['-C', REPO_ROOT, 'status', '--porcelain']).trim() !== '';
  return dirty ? `${head}+dirty` : head;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}
