/**
 * The programs process tests spawn — the gateway, the example worker, the SDK — bundled once
 * per vitest project from this checkout's sources, so each spawn starts plain JavaScript.
 * Under `node --import tsx` every start resolved and compiled ~300 modules through tsx's
 * loader hooks: 1.4–2 s to "listening" on a busy 2-core box against ~0.65 s for the same
 * code bundled (the ten process-heavy files: 108 → 85 s). npm packages stay outside the bundle, loaded
 * from node_modules as the compiled gateway (`npm start`) loads them; cli.test.ts runs that
 * compiled tree itself. Paths reach tests through `inject('processBundles')`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { TestProject } from 'vitest/node';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = {
  gateway: 'src/main.ts',
  worker: 'src/actions/example-worker.ts',
  sdk: 'packages/client/src/index.ts',
} as const;
const CACHE = `${ROOT}test-artifacts/process-bundles`;

export type ProcessBundles = Record<keyof typeof ENTRIES, string>;

/** Returns the project's teardown: the projects' set-ups run side by side in one module. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Below the package's root (not under node_modules, a symlink in a worktree, whose real
  // path is another checkout's): src/config/package-root.ts finds this checkout's files
  // (docs, pages) from the bundle as it does from src/. A folder of its own for each
  // project's set-up (the root's runs too), as they run side by side.
  await mkdir(CACHE, { recursive: true });
  const outdir = await mkdtemp(`${CACHE}/run-`);
  await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `${ROOT}${file}`])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Stack traces in a failed test's stderr name src/ files (the processes run with
    // --enable-source-maps).
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  project.provide(
    'processBundles',
    Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, `${outdir}/${name}.mjs`])) as ProcessBundles,
  );
  return () => rm(outdir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    processBundles: ProcessBundles;
  }
}
