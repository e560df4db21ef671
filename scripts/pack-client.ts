/**
 * `npm run pack:client`: build the `@tether-gateway/client` package (scripts/build-client.ts)
 * and pack it with npm, as `npm publish` would upload it. The tarball's absolute path is the
 * last line printed, so `npm install "$(npm run -s pack:client | tail -1)"` installs it.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DESTINATION = `${ROOT}dist/packs`;

const build = await run(process.execPath, ['--import', 'tsx', 'scripts/build-client.ts'], { cwd: ROOT });
process.stdout.write(build.stdout);
await mkdir(DESTINATION, { recursive: true });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', DESTINATION], {
  cwd: `${ROOT}packages/client`,
});
const [packed] = JSON.parse(stdout) as { filename: string; size: number; entryCount: number }[];
if (!packed) throw new Error(`npm pack printed no result: ${stdout}`);
process.stdout.write(`${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} KiB packed\n`);
process.stdout.write(`${DESTINATION}/${packed.filename}\n`);
