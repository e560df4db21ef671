/**
 * `@tether-gateway/client` as a user gets it: `npm run pack:client` builds and packs it, the
 * tarball is installed into an empty project (with `ws` for Node 20, React for the bindings,
 * nothing of the gateway), and then, in plain `node` with no TypeScript loader:
 * - the quick-start example at the top of docs/client.md runs as written against a real
 *   gateway (development mode, so its `/dev/token` mints the token);
 * - the React bindings render on the server (react-dom/server) with a live client;
 * - the declarations type-check in a strict TypeScript project, and catch a typo.
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
    await writeFile(
      `${project}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['app.ts', 'wrong.ts'],
      }),
    );
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
    const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => ({ stdout: '' }),
      (error: { stdout: string }) => error,
    );
    const errors = result.stdout.split('\n').filter((line) => line.includes('error TS'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong\.ts\(2,.*'"publicaton"'/);
  }, 60_000);
});
