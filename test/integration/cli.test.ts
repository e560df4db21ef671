/**
 * The compiled gateway and its CLI (issue 12, "Compiled, with a CLI"), run as a user
 * runs them: `npm start` on dist/ (built here first, so what runs is this checkout's
 * code), stopped by SIGTERM to npm's own process — which must reach the gateway, not
 * orphan it on its port — and `tether token | check-config | --version`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../src/observability/secrets.ts';
import { startTestGateway, TEST_SECRET, type TestGateway } from '../support/gateway.ts';
import { PROCESS_TEST_TIMEOUT_MS, processEnv, spawnGateway } from '../support/gateway-process.ts';
import { TestClient } from '../support/ws-client.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const TETHER = `${ROOT}dist/src/cli/tether.js`;
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tether …args` from dist/, with `env` only (processEnv's defaults), to its exit. */
async function tether(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TETHER, ...args], {
      cwd: ROOT,
      env: processEnv(env),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The gateway's pid among `pid`'s descendants (npm → its `sh -c`, unless exec'd → node). */
function gatewayUnder(pid: number): number {
  const children = execFileSync('pgrep', ['-P', String(pid)])
    .toString()
    .trim()
    .split('\n')
    .map(Number);
  for (const child of children) {
    const [program, ...args] = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    if (program?.endsWith('node') && args.includes('dist/src/main.js')) return child;
    const below = gatewayUnder(child);
    if (below) return below;
  }
  return 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  // The server only (the client bundles are not under test): seconds, not a minute.
  execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
  });
}, PROCESS_TEST_TIMEOUT_MS);

describe('npm start', () => {
  it(
    'runs the compiled gateway, and SIGTERM to npm drains and stops it and frees its port',
    async () => {
      const gateway = await spawnGateway(processEnv(), ['npm', 'start']);
      const npmPid = gateway.child.pid as number;
      const gatewayPid = gatewayUnder(npmPid);
      expect(gatewayPid).toBeGreaterThan(0);
      try {
        expect((await fetch(`${gateway.http}/livez`)).status).toBe(200);
        const { welcome } = await TestClient.session(gateway.url, {
          token: (await tether(['token', '--sub', 'alice'])).stdout.trim(),
        });
        expect(welcome.userId).toBe('alice');

        process.kill(npmPid, 'SIGTERM');
        // Polled, not awaited through gateway.exited: an orphaned gateway keeps npm's pipes open.
        await expect.poll(() => alive(gatewayPid), { timeout: 30_000 }).toBe(false);
        await gateway.exited;
        expect(gateway.logs()).toContainEqual(
          expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }),
        );
        await expect(fetch(`${gateway.http}/livez`)).rejects.toThrow();
      } finally {
        if (alive(gatewayPid)) process.kill(gatewayPid, 'SIGKILL');
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('tether', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ AUTH_ISSUER: 'https://issuer.example', AUTH_AUDIENCE: 'tether' });
  });
  afterAll(() => gw.stop());

  it('--version prints the package version', async () => {
    expect(await tether(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it(
    'token mints, from AUTH_JWT_SECRET, a token the gateway accepts with exactly the channels asked for',
    async () => {
      const run = await tether(['token', '--sub', 'alice', '--channels', 'room:*', '--ttl', '600'], {
        AUTH_ISSUER: 'https://issuer.example',
        AUTH_AUDIENCE: 'tether',
      });
      expect(run.code).toBe(0);
      const { client, welcome } = await TestClient.session(gw.url, { token: run.stdout.trim() });
      try {
        expect(welcome.userId).toBe('alice');
        client.send({ type: 'subscribe', channel: 'room:1', ref: 'in' });
        client.send({ type: 'subscribe', channel: 'other:1', ref: 'out' });
        expect(await client.next((f) => 'ref' in f && f.ref === 'in')).toMatchObject({ type: 'subscribed' });
        expect(await client.next((f) => 'ref' in f && f.ref === 'out')).toMatchObject({
          type: 'error',
          code: 'FORBIDDEN_CHANNEL',
        });
      } finally {
        client.drop();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'token in development mode signs with the secret the gateways share through Redis',
    async () => {
      // An empty AUTH_JWT_SECRET is "unset": no auth configured, development mode.
      const dev = await startTestGateway({ AUTH_JWT_SECRET: '' });
      try {
        const run = await tether(['token', '--sub', 'dev-alice'], {
          AUTH_JWT_SECRET: '',
          REDIS_PREFIX: dev.prefix,
        });
        expect(run.code).toBe(0);
        const { client, welcome } = await TestClient.session(dev.url, { token: run.stdout.trim() });
        client.drop();
        expect(welcome.userId).toBe('dev-alice');
      } finally {
        await dev.stop();
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('token refuses an unknown option, a bad --ttl and a bad --sub with exit 2, naming them', async () => {
    expect(await tether(['token', '--user', 'alice'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("'--user'"),
    });
    expect(await tether(['token', '--ttl', 'soon'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--ttl soon'),
    });
    // A sub the gateway would refuse at hello is not minted.
    expect(await tether(['token', '--sub', 'u'.repeat(257)])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--sub: a user ID is 1–256 characters'),
    });
  });

  it('check-config prints the effective configuration with every secret masked', async () => {
    const run = await tether(['check-config'], { REDIS_URL: 'redis://:hunter2-password@127.0.0.1:6390/0' });
    expect(run.code).toBe(0);
    const shown = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ port: 0, auth: { hs256Secret: REDACTED }, publishApiKeys: REDACTED });
    expect(shown.redisUrl).toBe('redis://:***@127.0.0.1:6390/0'); // as every Redis message shows it (redact)
    for (const secret of [TEST_SECRET, 'hunter2-password', 'test-publish-key', 'test-admin-key'])
      expect(run.stdout).not.toContain(secret);
  });

  it('check-config exits 2 on an invalid environment, naming the variable', async () => {
    const run = await tether(['check-config'], { PORT: 'eighty' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PORT');
    expect(run.stdout).toBe('');
  });

  it('an unknown command is a usage error', async () => {
    expect(await tether(['serve'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "serve"'),
    });
  });
});
