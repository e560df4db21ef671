/**
 * A CONFIG_FILE for a test's gateways (src/config/namespaces.ts), written to a temp
 * directory that is removed when the test process exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tether-config-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The path of a new CONFIG_FILE holding `content` (`{ "namespaces": { … } }`). */
export function configFile(content: object): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}
