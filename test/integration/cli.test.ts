/**
 * The compiled gateway and its CLI (issue 12, "Compiled, with a CLI"), run as a user
 * runs them: `npm start` on dist/ (built here first, so what runs is this checkout's
 * code), stopped by SIGTERM to npm's own process — which must reach the gateway, not
 * orphan it on its port — and `tether token | check-config | --version`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REDACTED } from '../../src/observability/secrets.ts';
import { parseRedisUrl } from '../../src/redis/redis-target.ts';
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

/** A token's claims, unverified (what `tether token` put in it). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<
    string,
    unknown
  >;
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
    // The options are in the command's own help: `tether --help` lists only the commands.
    expect((await tether(['token', '--ttl', '0'])).stderr).toContain(
      'Run `tether token --help` for its options.',
    );
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

  it('every command prints its own help with --help or -h, and exits 0 without doing anything', async () => {
    for (const [command, flag] of [
      ['start', '--help'],
      ['start', '-h'],
      ['token', '--help'],
      ['token', '-h'],
      ['check-config', '--help'],
    ] as const) {
      // PORT 1: a start that ignored its arguments would fail to listen, not print help.
      const run = await tether([command, flag], { PORT: '1' });
      expect(run, `${command} ${flag}`).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout, `${command} ${flag}`).toContain(`Usage: tether ${command}`);
    }
    expect((await tether(['token', '--help'])).stdout).toContain('--ttl <seconds>');
  });

  it('start refuses an unknown option or an argument with exit 2, before starting anything', async () => {
    for (const args of [
      ['start', '--bogus'],
      ['start', 'now'],
    ]) {
      const run = await tether(args, { PORT: '1' });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(args[1]);
      expect(run.stderr).toContain('Run `tether start --help` for its options.');
      expect(run.stderr).not.toContain('cannot listen');
      expect(run.stdout).toBe('');
    }
  });

  it.each([
    [
      { MAX_MESSAGE_BYTES: '1e400' },
      'MAX_MESSAGE_BYTES="1e400": must be a whole number of bytes, written in decimal digits',
    ],
    [{ CHANNEL_RETENTION: 'Infinity' }, 'CHANNEL_RETENTION="Infinity": must be a whole number'],
    [{ PORT: '0x1ca6' }, 'PORT="0x1ca6": must be a whole number'],
    [{ SESSION_LEASE_MS: '3000000000' }, 'SESSION_LEASE_MS="3000000000": must be at most 2147483647 ms'],
    [
      { TRUSTED_PROXIES: 'banana,10.0.0.0/99' },
      'TRUSTED_PROXIES: "banana" is not an IP address or CIDR range',
    ],
    [{ REDIS_URL: 'redis://127.0.0.1:99999' }, 'REDIS_URL redis://127.0.0.1:99999 is not a valid URL'],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/abc' }, '"abc" is not a database number'],
    [{ HOST: 'not-an-ip.invalid' }, 'HOST="not-an-ip.invalid": not an IP address'],
    [{ NODE_ENV: 'Production' }, 'NODE_ENV="Production": must be one of production, development, test'],
    [
      { PUBLISH_API_KEYS: 'a-key-of-24-characters!!,b' },
      'each key must be at least 16 characters (key 2 of 2 has 1)',
    ],
  ])(
    'check-config and start both refuse %j with exit 2, naming the variable, without a stack trace',
    async (env, message) => {
      const [check, start] = await Promise.all([tether(['check-config'], env), tether(['start'], env)]);
      for (const run of [check, start]) {
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(message);
        expect(run.stderr).not.toMatch(/\n\s+at /);
      }
      expect(check.stdout).toBe('');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.skipIf(parseRedisUrl(inject('redisUrl')).kind !== 'standalone')(
    'start refuses a REDIS_URL database the server does not have, with exit 2 naming REDIS_URL',
    async () => {
      const run = await tether(['start'], { REDIS_URL: `${inject('redisUrl')}/99` });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('this Redis has no database 99');
      expect(run.stderr).toContain('REDIS_URL=');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('check-config prints the namespaces CONFIG_FILE gives, by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
    try {
      const file = join(dir, 'channels.json');
      writeFileSync(
        file,
        JSON.stringify({ namespaces: { room: { presence: true }, tokens: { replay: false } } }),
      );
      const run = await tether(['check-config'], { CONFIG_FILE: file });
      expect(run.code).toBe(0);
      const { channels } = JSON.parse(run.stdout) as { channels: { namespaces: Record<string, unknown> } };
      expect(channels.namespaces.room).toMatchObject({ presence: true, publish: 'clients' });
      // A namespace whose name looks like a secret's is shown, not masked.
      expect(channels.namespaces.tokens).toMatchObject({ replay: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('token reads --ttl as decimal digits, 1 to ten years', async () => {
    for (const ttl of ['0x10', ' 60 ', '+60', '1e3', '0', '99999999999999999999', '315360001']) {
      const run = await tether(['token', `--ttl=${ttl}`]);
      expect(run.code, ttl).toBe(2);
      expect(run.stderr).toContain('a whole number of seconds in decimal digits, 1–315360000');
    }
    const run = await tether(['token', '--ttl', '315360000']);
    expect(run.code).toBe(0);
    const claims = claimsOf(run.stdout.trim());
    expect((claims.exp as number) - (claims.iat as number)).toBe(315_360_000);
  });

  it('token trims the patterns of its lists: spaces around a comma are not part of a name', async () => {
    const run = await tether(['token', '--channels', ' room:* , , feed:* ', '--publish', 'room:a ']);
    expect(run.code).toBe(0);
    expect(claimsOf(run.stdout.trim())).toMatchObject({
      channels: ['room:*', 'feed:*'],
      publish: ['room:a'],
    });
  });

  it(
    'token with REDIS_URL=embedded and no gateway running says what to do, exit 1, no stack or ioredis noise',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
      try {
        const run = await tether(['token'], {
          AUTH_JWT_SECRET: '',
          REDIS_URL: 'embedded',
          REDIS_DATA_DIR: join(dir, 'redis'),
        });
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(
          'REDIS_URL=embedded names the private redis-server of a running gateway',
        );
        expect(run.stderr).toContain('GET /dev/token');
        expect(run.stderr).not.toMatch(/ioredis|ENOTFOUND|\n\s+at /);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'token with REDIS_URL=embedded finds the Redis of the gateway running on REDIS_DATA_DIR, as npm start does',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
      const env = processEnv({
        AUTH_JWT_SECRET: '',
        REDIS_URL: 'embedded',
        REDIS_DATA_DIR: join(dir, 'redis'),
      });
      const gateway = await spawnGateway(env, [process.execPath, TETHER, 'start']);
      try {
        const run = await tether(['token', '--sub', 'embedded-alice'], env);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const { client, welcome } = await TestClient.session(gateway.url, { token: run.stdout.trim() });
        client.drop();
        expect(welcome.userId).toBe('embedded-alice');
      } finally {
        await gateway.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it('an unknown command is a usage error', async () => {
    expect(await tether(['serve'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "serve"'),
    });
  });
});
