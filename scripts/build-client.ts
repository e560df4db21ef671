/**
 * `npm run build:client`, run by `prepare` (so `npm install` builds it): the
 * `tether/client` package entry points, which plain Node cannot take as
 * TypeScript (ERR_UNKNOWN_FILE_EXTENSION), and the browser bundles of the pages.
 *
 * - dist/client/index.js — ES module for Node 20 and bundlers; dependencies
 *   (xstate, and `ws` when the SDK loads it itself) stay imports.
 * - dist/client/browser.js — one self-contained ES module for browsers.
 * - dist/client/types/ — declarations, emitted by TypeScript from the same source.
 * - dist/pages/ — the demo, the dashboard and the SDK as served under /assets/.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type ts from 'typescript';
import { BROWSER_BUILD, buildBundles, DIST_DIR } from '../src/pages/page-assets.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = `${ROOT}/src/client/index.ts`;
const OUT = `${ROOT}/dist/client`;

await rm(OUT, { recursive: true, force: true });
await mkdir(OUT, { recursive: true });

await Promise.all([
  esbuild.build({
    entryPoints: [ENTRY],
    outfile: `${OUT}/index.js`,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Resolved from the installing project's node_modules, so an app that uses xstate shares one copy.
    packages: 'external',
  }),
  esbuild.build({
    ...BROWSER_BUILD,
    entryPoints: [ENTRY],
    outfile: `${OUT}/browser.js`,
    logLevel: 'warning',
  }),
  buildBundles(DIST_DIR),
]);
// TypeScript is a devDependency: a production install (`npm install --omit=dev`) runs this
// script too, and needs the JavaScript, not the declarations.
const typescript = await import('typescript').then((m) => m.default).catch(() => undefined);
if (typescript) emitDeclarations(typescript);
else process.stdout.write('typescript not installed (--omit=dev?): dist/client/types/ skipped\n');

for (const file of [
  'dist/client/index.js',
  'dist/client/browser.js',
  ...(typescript ? ['dist/client/types/src/client/index.d.ts'] : []),
])
  await report(file);

/** The declarations of everything the entry point reaches, with the repository's compiler options. */
function emitDeclarations(ts: typeof import('typescript')): void {
  const configPath = `${ROOT}/tsconfig.base.json`;
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) fail(ts, [error]);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configPath);
  const program = ts.createProgram([ENTRY], {
    ...options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: ROOT,
    outDir: `${OUT}/types`,
  });
  const result = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (result.emitSkipped || diagnostics.length > 0) fail(ts, diagnostics);
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
