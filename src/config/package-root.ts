/**
 * Where Tether's own files are (package.json, docs/, the pages' HTML, dist/pages/),
 * the same whether a module runs from src/ under tsx or compiled under dist/
 * (`npm run build`, tsconfig.build.json): the nearest folder above this module that
 * holds a package.json. The compiled tree has none of its own, since nothing imports
 * package.json as a module (which would make TypeScript copy it into dist/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The package's folder, without a trailing slash. */
export const PACKAGE_ROOT = findRoot();

/** Tether's version, from its package.json (the service version in traces, `tether --version`). */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
