/**
 * `npm run build:client`: write the browser bundles — the SDK as an ES module
 * (dist/pages/tether-client.js), the demo and the dashboard — for installs
 * without devDependencies (the gateway builds them in memory when esbuild is there).
 */
import { stat } from 'node:fs/promises';
import { buildBundles, DIST_DIR } from '../src/pages/page-assets.ts';

const bundles = await buildBundles(DIST_DIR);
for (const name of bundles.keys()) {
  const { size } = await stat(`${DIST_DIR}/${name}`);
  process.stdout.write(`${DIST_DIR}/${name}  ${(size / 1024).toFixed(1)} KiB\n`);
}
