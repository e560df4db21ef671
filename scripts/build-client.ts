/**
 * `npm run build:client`, run by `prepare` (so `npm install` builds it): the
 * `@tether-gateway/client` package (packages/client/) and the browser bundles of the pages.
 *
 * - packages/client/dist/index.js, react.js — ES modules for Node 20+ and bundlers, sharing
 *   one chunk (one TetherClient class for both entry points); xstate, react and `ws` stay
 *   imports. src/shared/* and machines/client.machine.ts are bundled in: one source in the
 *   repository, no extra dependency for the package (packages/client/src/shared.ts says why).
 * - packages/client/dist/browser.js — one self-contained ES module for browsers.
 * - packages/client/dist/index.d.ts, react.d.ts — declarations emitted by TypeScript from the
 *   same source and bundled by rollup-plugin-dts, so they name nothing outside the package.
 * - dist/pages/ — the demo, the dashboard, the landing page's SDK as served under /assets/.
 *
 * TypeScript and rollup are devDependencies: a production install (`npm install --omit=dev`)
 * runs this script too and gets the JavaScript without the declarations.
 */
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type ts from 'typescript';
import { BROWSER_BUILD, buildBundles, DIST_DIR } from '../src/pages/page-assets.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE_DIR = `${ROOT}packages/client`;
const OUT = `${PACKAGE_DIR}/dist`;
const ENTRIES = { index: `${PACKAGE_DIR}/src/index.ts`, react: `${PACKAGE_DIR}/src/react/index.ts` };

// Built beside dist/ and swapped in by two renames: a test reading dist/ while another
// builds it (client-sdk and client-sdk-package side by side) never finds it missing.
const BUILDING = `${PACKAGE_DIR}/.dist-building-${process.pid}`;
await rm(BUILDING, { recursive: true, force: true });
await mkdir(BUILDING, { recursive: true });

await Promise.all([
  esbuild.build({
    entryPoints: ENTRIES,
    outdir: BUILDING,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Resolved from the installing project's node_modules, so an app that uses xstate or React
    // shares one copy; `ws` is loaded by a computed import in Node only.
    external: ['xstate', 'react', 'ws'],
  }),
  esbuild.build({ ...BROWSER_BUILD, entryPoints: [ENTRIES.index], outfile: `${BUILDING}/browser.js` }),
  buildBundles(DIST_DIR),
]);

const typescript = await import('typescript').then((m) => m.default).catch(() => undefined);
const declared = typescript ? await emitDeclarations(typescript) : false;
if (!declared)
  process.stdout.write('typescript or rollup not installed (--omit=dev?): declarations skipped\n');

// Another build may put its dist/ in place between the two renames: then swap again (bounded).
const replaced = `${PACKAGE_DIR}/.dist-replaced-${process.pid}`;
for (let attempt = 1; ; attempt++) {
  await rm(replaced, { recursive: true, force: true });
  await rename(OUT, replaced).catch(() => {}); // none yet on a first build
  try {
    await rename(BUILDING, OUT);
    break;
  } catch (error) {
    if (attempt >= 5) throw error;
  }
}
await rm(replaced, { recursive: true, force: true });

for (const file of ['index.js', 'react.js', 'browser.js', ...(declared ? ['index.d.ts', 'react.d.ts'] : [])])
  await report(`packages/client/dist/${file}`);

/** Declarations of both entry points, bundled so they reach nothing but xstate and react. */
async function emitDeclarations(ts: typeof import('typescript')): Promise<boolean> {
  const rollup = await import('rollup').catch(() => undefined);
  const dts = await import('rollup-plugin-dts').catch(() => undefined);
  if (!rollup || !dts) return false;
  const configPath = `${ROOT}/tsconfig.base.json`;
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) fail(ts, [error]);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configPath);
  const staging = await mkdtemp(`${tmpdir()}/tether-client-types-`);
  try {
    const program = ts.createProgram(Object.values(ENTRIES), {
      ...options,
      types: [],
      stripInternal: true, // the SDK's own plumbing (`@internal`) is not API
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      rootDir: ROOT,
      outDir: staging,
    });
    const result = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
    if (result.emitSkipped || diagnostics.length > 0) fail(ts, diagnostics);
    const staged = (entry: string) => entry.replace(ROOT, `${staging}/`).replace(/\.ts$/, '.d.ts');
    const bundle = await rollup.rollup({
      input: { index: staged(ENTRIES.index), react: staged(ENTRIES.react) },
      plugins: [dts.dts()],
      // frames.ts's schemas import TypeBox; only plain interfaces are reached, and the check
      // below fails the build if a TypeBox type ever leaks into the package's declarations.
      external: ['xstate', 'react', '@sinclair/typebox'],
      onwarn: (warning) => {
        throw new Error(`declarations: ${warning.message}`);
      },
    });
    const { output } = await bundle.write({
      dir: BUILDING,
      format: 'es',
      chunkFileNames: 'chunks/[name]-[hash].d.ts',
    });
    await bundle.close();
    for (const file of output)
      if (
        file.type === 'chunk' &&
        file.imports.some((name) => !['xstate', 'react'].includes(name) && !name.startsWith('chunks/'))
      )
        throw new Error(`declarations: ${file.fileName} imports ${file.imports.join(', ')}`);
    return true;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function fail(ts: typeof import('typescript'), diagnostics: readonly ts.Diagnostic[]): never {
  const host = {
    getCanonicalFileName: (f: string) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  };
  process.stderr.write(ts.formatDiagnostics(diagnostics, host));
  process.exit(1);
}

async function report(file: string): Promise<void> {
  const { size } = await stat(`${ROOT}/${file}`);
  process.stdout.write(`${file}  ${(size / 1024).toFixed(1)} KiB\n`);
}
