/**
 * `npm run machines`: writes each machine in machines/ as JSON (its XState
 * definition) to docs/machines/<id>.json, for importing into tools and for
 * reviewing a change to a machine as a diff. The .machine.ts files themselves open
 * in the Stately visualizer as they are (docs/observability.md, "The machines").
 *
 * test/unit/machine-export.test.ts fails when a JSON file is stale.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MACHINES_DIR = fileURLToPath(new URL('../machines/', import.meta.url));
export const EXPORT_DIR = fileURLToPath(new URL('../docs/machines/', import.meta.url));

interface MachineLike {
  id: string;
  toJSON(): unknown;
}

const isMachine = (value: unknown): value is MachineLike =>
  typeof value === 'object' && value !== null && 'definition' in value && 'toJSON' in value && 'id' in value;

/**
 * Functions in a definition (inline `assign`s, params computed from the event)
 * become a marker instead of disappearing as `null`.
 */
function replacer(key: string, value: unknown): unknown {
  if (typeof value !== 'function') return value;
  if (key === 'params') return '(computed from the event)';
  return { type: (value as { type?: string }).type ?? 'inline' };
}

/** machine id → its definition as pretty JSON (with a final newline). */
export async function renderMachines(): Promise<Map<string, string>> {
  const rendered = new Map<string, string>();
  const files = readdirSync(MACHINES_DIR)
    .filter((file) => file.endsWith('.machine.ts'))
    .sort();
  for (const file of files) {
    const module = (await import(pathToFileURL(`${MACHINES_DIR}${file}`).href)) as Record<string, unknown>;
    for (const machine of Object.values(module).filter(isMachine))
      rendered.set(machine.id, `${JSON.stringify(machine.toJSON(), replacer, 2)}\n`);
  }
  return rendered;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [id, json] of await renderMachines()) {
    writeFileSync(`${EXPORT_DIR}${id}.json`, json);
    process.stdout.write(`wrote docs/machines/${id}.json\n`);
  }
}
