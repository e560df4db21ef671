/**
 * The browser bundles behind the gateway's pages, built with esbuild from the
 * same TypeScript the tests run: the demo (with the SDK inside), the dashboard,
 * and the SDK alone as an ES module for anyone's page (`/assets/tether-client.js`).
 *
 * Where they come from, so `npm start` works on a fresh clone with no extra step:
 * 1. esbuild installed (a development checkout): built in memory on first request;
 * 2. otherwise (a production install without devDependencies): `dist/pages/`,
 *    written by `npm run build:client`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { PACKAGE_ROOT } from '../config/package-root.ts';

const ROOT = PACKAGE_ROOT;

/** Output file name → entry point (relative to the repository root). */
export const PAGE_BUNDLES = {
  'demo.js': 'src/pages/demo/demo-page.ts',
  'dashboard.js': 'src/pages/dashboard/dashboard-page.ts',
  'tether-client.js': 'packages/client/src/index.ts',
} as const;

/** A bundle (`demo.js`) or its source map (`demo.js.map`). */
export type AssetName = string;

export const DIST_DIR = 'dist/pages';

/** How every browser bundle is built: these pages' and the SDK package's `browser` entry. */
export const BROWSER_BUILD: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  logLevel: 'silent',
  // The SDK loads `ws` only in Node, by a computed import; a browser never reaches it.
  external: ['ws'],
};

/** Build every bundle and its source map; `outdir` set writes them there as well. */
export async function buildBundles(outdir?: string): Promise<Map<AssetName, Uint8Array>> {
  const esbuild = await import('esbuild');
  const entryPoints = Object.fromEntries(
    Object.entries(PAGE_BUNDLES).map(([name, entry]) => [name.replace(/\.js$/, ''), `${ROOT}/${entry}`]),
  );
  const result = await esbuild.build({
    ...BROWSER_BUILD,
    entryPoints,
    write: outdir !== undefined,
    outdir: `${ROOT}/${outdir ?? DIST_DIR}`,
  });
  if (outdir !== undefined) return readDist(`${ROOT}/${outdir}`);
  const bundles = new Map<AssetName, Uint8Array>();
  for (const file of result.outputFiles ?? []) bundles.set(basename(file.path), file.contents);
  return bundles;
}

async function readDist(dir: string): Promise<Map<AssetName, Uint8Array>> {
  const bundles = new Map<AssetName, Uint8Array>();
  for (const name of Object.keys(PAGE_BUNDLES)) {
    bundles.set(name, await readFile(`${dir}/${name}`));
    const map = await readFile(`${dir}/${name}.map`).catch(() => undefined);
    if (map) bundles.set(`${name}.map`, map);
  }
  return bundles;
}

export class AssetsUnavailableError extends Error {
  override name = 'AssetsUnavailableError';
}

let cached: Promise<Map<AssetName, Uint8Array>> | undefined;

/** The bundles, built once per process (or read from dist/); rejects with a message saying what to run. */
export function pageBundles(): Promise<Map<AssetName, Uint8Array>> {
  cached ??= load().catch((error) => {
    cached = undefined; // let a later request try again
    throw error;
  });
  return cached;
}

async function load(): Promise<Map<AssetName, Uint8Array>> {
  let buildError: unknown;
  try {
    return await buildBundles();
  } catch (error) {
    buildError = error;
  }
  try {
    return await readDist(`${ROOT}/${DIST_DIR}`);
  } catch {
    throw new AssetsUnavailableError(
      `The page bundles are neither buildable here (${(buildError as Error).message}) nor in ${DIST_DIR}/. Run \`npm run build:client\` where devDependencies are installed.`,
      { cause: buildError },
    );
  }
}

export type PageName = 'landing' | 'demo' | 'dashboard';

/** A page's HTML, from src/pages/<page>/index.html. */
export function pageHtml(page: PageName): Promise<Buffer> {
  return readFile(`${ROOT}/src/pages/${page}/index.html`);
}
