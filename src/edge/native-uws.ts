/**
 * The native uWebSockets.js adapter: load a build whose binary works on this Node
 * (ABI) and this libc, straight from its `.node` file — never through a package's
 * `require` entry, because @trufflesuite/uws-js-unofficial's falls back, silently,
 * to a JavaScript stand-in that cannot upgrade a socket (the first WebSocket then
 * kills the process). uWS's own objects implement the edge port as they are.
 *
 * Builds, newest first (docs/edge.md has the table of what runs where):
 * - `@btc-vision/uwebsockets.js` 20.57.0: a third-party npm republish of upstream
 *   uWS.js v20.57 binaries (Node 20/22/24/25), linked against glibc 2.38. Pinned
 *   by version and by the lock file's integrity hash.
 * - `uWebSockets.js` (`@trufflesuite/uws-js-unofficial` 20.30): Node 16/18/20, glibc ≥ 2.27.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { App, Edge, ListenToken } from './edge-port.ts';
import { type Platform, platformText } from './platform.ts';

const require = createRequire(import.meta.url);

interface NativeBuild {
  /** The package as installed (an alias for trufflesuite's). */
  packageName: string;
  /** The build as published. */
  published: string;
  /** Folder of the `.node` files inside the package. */
  binaries: string;
  /** What its binaries need, for the message when none loads. */
  needs: string;
}

export const NATIVE_BUILDS: readonly NativeBuild[] = [
  {
    packageName: '@btc-vision/uwebsockets.js',
    published: '@btc-vision/uwebsockets.js 20.57.0',
    binaries: '.',
    needs: 'Node 20, 22, 24 or 25 on glibc ≥ 2.38 (Debian 13, Ubuntu 24.04)',
  },
  {
    packageName: 'uWebSockets.js',
    published: '@trufflesuite/uws-js-unofficial 20.30',
    binaries: 'binaries',
    needs: 'Node 16, 18 or 20 on glibc ≥ 2.27',
  },
];

/** The subset of the native module Tether calls. */
interface NativeModule {
  App(): App;
  us_socket_local_port(token: ListenToken): number;
  us_listen_socket_close(token: ListenToken): void;
}

/** One build tried and why it did not load (for the start-up log and the refusal message). */
export interface Attempt {
  build: string;
  outcome: string;
}

export type NativeLoad = { edge: Edge; attempts: Attempt[] } | { edge: undefined; attempts: Attempt[] };

/** The first native build that loads here, with what was tried before it. */
export function loadNativeUws(platform: Platform): NativeLoad {
  const attempts: Attempt[] = [];
  for (const build of NATIVE_BUILDS) {
    const found = locate(build);
    if (!found) {
      attempts.push({ build: build.packageName, outcome: 'not installed' });
      continue;
    }
    const label = `${found.name}@${found.version}`;
    const file = join(found.binaries, `uws_${platform.os}_${platform.arch}_${platform.abi}.node`);
    if (!existsSync(file)) {
      attempts.push({
        build: label,
        outcome: `no binary for ABI ${platform.abi} (has ${abisIn(found.binaries)})`,
      });
      continue;
    }
    try {
      const native = require(file) as NativeModule;
      return {
        edge: nativeEdge(native, label, `native build ${label} loads on ${platformText(platform)}`),
        attempts,
      };
    } catch (error) {
      attempts.push({ build: label, outcome: `${firstLine(error)} (needs ${build.needs})` });
    }
  }
  return { edge: undefined, attempts };
}

function nativeEdge(native: NativeModule, version: string, reason: string): Edge {
  return {
    info: { impl: 'uws', version, reason },
    createApp: () => native.App(),
    listeningPort: (token) => native.us_socket_local_port(token),
    closeListenSocket: (token) => native.us_listen_socket_close(token),
  };
}

function locate(build: NativeBuild): { name: string; version: string; binaries: string } | undefined {
  let entry: string;
  try {
    entry = require.resolve(build.packageName); // btc-vision's `exports` hide package.json: find its main
  } catch {
    return undefined;
  }
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return { name: manifest.name, version: manifest.version, binaries: join(dir, build.binaries) };
}

function abisIn(folder: string): string {
  const abis = new Set<string>();
  for (const name of readdirSync(folder)) {
    const abi = /^uws_\w+_\w+_(\d+)\.node$/.exec(name)?.[1];
    if (abi) abis.add(abi);
  }
  return [...abis].sort((a, b) => Number(a) - Number(b)).join(', ') || 'none';
}

/** The loader's complaint, without the binary's path. */
function firstLine(error: unknown): string {
  const line = String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
  return line.replace(/\s*\(required by [^)]*\)/, '');
}
