/**
 * `@tether-gateway/client` as a user gets it: `npm run pack:client` builds and packs it, the
 * tarball is installed into an empty project (with `ws` for Node 20, React for the bindings,
 * nothing of the gateway), and then, in plain `node` with no TypeScript loader:
 * - the quick-start example at the top of docs/client.md runs as written against a real
 *   gateway (development mode, so its `/dev/token` mints the token);
 * - the React bindings render on the server (react-dom/server) with a live client;
 * - the declarations type-check in a strict TypeScript project, and catch a typo;
 * - every `ts` block of docs/client.md compiles in that project (stubs stand for the app's own
 *   names), so the examples cannot drift from the types.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const versionOf = async (name: string) =>
  (JSON.parse(await readFile(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string })
    .version;

/** The first fenced block after `<!-- example: <name> … -->` in a markdown file. */
async function docExample(file: string, name: string): Promise<string> {
  const text = await readFile(`${ROOT}${file}`, 'utf8');
  const marker = text.indexOf(`<!-- example: ${name}`);
  if (marker < 0) throw new Error(`${file}: no example ${name}`);
  const match = /```\w*\n([\s\S]*?)```/.exec(text.slice(marker));
  if (!match?.[1]) throw new Error(`${file}: example ${name} has no code block`);
  return match[1];
}

/** Every fenced block of this language in a markdown file, with the line it starts on. */
async function docBlocks(file: string, language: string): Promise<{ line: number; code: string }[]> {
  const text = await readFile(`${ROOT}${file}`, 'utf8');
  const blocks: { line: number; code: string }[] = [];
  for (const match of text.matchAll(new RegExp(`^\`\`\`${language}\n([\\s\\S]*?)^\`\`\``, 'gm')))
    blocks.push({ line: text.slice(0, match.index).split('\n').length, code: match[1] ?? '' });
  return blocks;
}

/** The application's own names the examples use, declared for a block that uses but does not define them. */
const DOC_STUBS: Record<string, string> = {
  TetherClient: "import { TetherClient } from '@tether-gateway/client';",
  client: "declare const client: import('@tether-gateway/client').TetherClient;",
  room: "declare const room: import('@tether-gateway/client').Subscription;",
  url: 'declare const url: string;',
  getToken: 'declare function getToken(): Promise<string>;',
  root: 'declare const root: { render(node: unknown): void };',
  showBanner: 'declare function showBanner(text: string): void;',
  showError: 'declare function showError(message: string, recovery: string): void;',
  render: 'declare function render(id: string, data: unknown): void;',
  reloadFromBackend: 'declare function reloadFromBackend(channels?: string[]): void;',
  lastIdYouStored: 'declare const lastIdYouStored: string;',
  addToList: 'declare function addToList(member: unknown): void;',
  removeFromList: 'declare function removeFromList(member: unknown): void;',
  setMessages: 'declare function setMessages(messages: unknown): void;',
  api: 'declare const api: { loadRecentMessages(channel: string): Promise<unknown> };',
};

/** A docs block as a module of its own: the stubs for the free names it uses, then the block. */
function withStubs(code: string): string {
  const stubs = Object.entries(DOC_STUBS).filter(
    ([name]) =>
      new RegExp(`\\b${name}\\b`).test(code) &&
      !new RegExp(`\\b(const|let|function|class|import)\\s+(\\{[^}]*)?\\b${name}\\b`).test(code),
  );
  return [...stubs.map(([, stub]) => stub), 'export {};', code].join('\n');
}

let gw: TestGateway;
let project: string;
let tarball: string;

beforeAll(async () => {
  const packed = await run(process.execPath, ['--import', 'tsx', 'scripts/pack-client.ts'], { cwd: ROOT });
  tarball = packed.stdout.trim().split('\n').at(-1) ?? '';
  project = await mkdtemp(`${tmpdir()}/tether-sdk-user-`);
  await writeFile(
    `${project}/package.json`,
    JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }),
  );
  // The same versions the repository installed, so the npm cache serves them (offline works).
  const extras = await Promise.all(
    ['ws', 'react', 'react-dom', '@types/react'].map(async (name) => `${name}@${await versionOf(name)}`),
  );
  await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...extras], {
    cwd: project,
    timeout: 120_000,
  });
  gw = await startTestGateway({ AUTH_JWT_SECRET: '' }); // no auth configured: development mode
}, 180_000);
afterAll(async () => {
  await gw?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

describe('the packed @tether-gateway/client', () => {
  it('is a small package that depends on xstate only', async () => {
    expect(tarball).toMatch(/tether-gateway-client-\d+\.\d+\.\d+\.tgz$/);
    const manifest = JSON.parse(
      await readFile(`${project}/node_modules/@tether-gateway/client/package.json`, 'utf8'),
    ) as { dependencies: Record<string, string>; exports: Record<string, unknown> };
    expect(Object.keys(manifest.dependencies)).toEqual(['xstate']);
    expect(Object.keys(manifest.exports)).toEqual(['.', './react', './browser', './package.json']);
    const installed = await readdir(`${project}/node_modules`);
    for (const gatewayOnly of ['ioredis', 'bullmq', 'uWebSockets.js', '@sinclair', 'pino'])
      expect(installed).not.toContain(gatewayOnly);
  });

  it('runs the quick start of docs/client.md as written against a real gateway', async () => {
    await writeFile(`${project}/quick-start.mjs`, await docExample('docs/client.md', 'quick-start.mjs'));
    const { stdout } = await run(process.execPath, ['quick-start.mjs'], {
      cwd: project,
      env: { PATH: process.env.PATH ?? '', TETHER_HTTP: gw.http },
      timeout: 30_000,
    });
    const lines = stdout.split('\n');
    const ack = lines.find((l) => l.startsWith('ack '))?.slice(4);
    expect(ack).toMatch(/^\d+-\d+$/);
    expect(lines).toContain(`publication ${ack} {"text":"hello"}`);
    expect(lines.filter((l) => l.startsWith('state'))).toEqual([
      'state connecting ',
      'state connected ',
      'state closed ',
    ]);
  });

  it('renders the React bindings on the server, with a live client', async () => {
    const script = `
      import { createElement as h } from 'react';
      import { renderToString } from 'react-dom/server';
      import { TetherClient } from '@tether-gateway/client';
      import { TetherProvider, useConnectionState, useSubscription } from '@tether-gateway/client/react';
      const client = new TetherClient({ url: process.env.URL, token: 'unused' });
      function Room() {
        const { state } = useConnectionState();
        const room = useSubscription('room:ssr');
        return h('p', null, state + '/' + room.state + '/' + room.publications.length);
      }
      console.log(renderToString(h(TetherProvider, { client }, h(Room))));
      try { renderToString(h(Room)); } catch (error) { console.log(error.message); }
    `;
    await writeFile(`${project}/ssr.mjs`, script);
    const { stdout } = await run(process.execPath, ['ssr.mjs'], {
      cwd: project,
      env: { PATH: process.env.PATH ?? '', URL: gw.url },
    });
    expect(stdout.split('\n')).toEqual([
      '<p>idle/subscribing/0</p>',
      'useConnectionState(): pass a client or render inside <TetherProvider>',
      '',
    ]);
  });

  it('its declarations type-check in a strict project, and catch a typo', async () => {
    await writeTsconfig('tsconfig.json', ['app.ts', 'wrong.ts']);
    await writeFile(
      `${project}/app.ts`,
      [
        "import { TetherClient, TetherClientError, type ClientStats, type StateChange } from '@tether-gateway/client';",
        "import { useSubscription } from '@tether-gateway/client/react';",
        "const client = new TetherClient({ url: 'ws://localhost:8080/ws', maxReconnectAttempts: 10 });",
        "client.on('state', ({ newState, error }: StateChange) => console.log(newState, error?.recovery));",
        "const room = client.subscribe('room:1', { since: { id: '1-0' } });",
        "room.on('recovered', ({ recovered, after, epoch }) => console.log(recovered, after, epoch?.length));",
        'export const position: string | undefined = room.position?.id;',
        'export const stats: ClientStats = client.stats();',
        "export const view = () => useSubscription('room:1', { client }).publications.map((p) => p.id);",
        "export const isCoded = (e: unknown) => e instanceof TetherClientError && e.code === 'GATEWAY_UNREACHABLE';",
      ].join('\n'),
    );
    // A typo a user would make must be caught, or the types say nothing.
    await writeFile(
      `${project}/wrong.ts`,
      "import { TetherClient } from '@tether-gateway/client';\nnew TetherClient({ url: 'ws://x/ws' }).subscribe('a').on('publicaton', () => {});\n",
    );
    const errors = await typeErrors('tsconfig.json');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong\.ts\(2,.*'"publicaton"'/);
  }, 60_000);

  it('compiles every ts block of docs/client.md in strict mode', async () => {
    const blocks = await docBlocks('docs/client.md', 'ts');
    expect(blocks.length).toBeGreaterThan(5);
    const files = blocks.map(({ line }) => `client-md-line-${line}.ts`);
    for (const [i, { code }] of blocks.entries()) await writeFile(`${project}/${files[i]}`, withStubs(code));
    await writeTsconfig('tsconfig.docs.json', files);
    expect(await typeErrors('tsconfig.docs.json')).toEqual([]);
  }, 60_000);
});

/** A strict project over these files of the installed package's user. */
function writeTsconfig(name: string, files: string[]): Promise<void> {
  return writeFile(
    `${project}/${name}`,
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        lib: ['ES2022', 'DOM'],
        types: [],
      },
      files,
    }),
  );
}

/** tsc's `error TS` lines for a project file. */
async function typeErrors(tsconfig: string): Promise<string[]> {
  const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
  const result = await run(process.execPath, [tsc, '-p', `${project}/${tsconfig}`], { cwd: project }).then(
    () => ({ stdout: '' }),
    (error: { stdout: string }) => error,
  );
  return result.stdout.split('\n').filter((line) => line.includes('error TS'));
}
