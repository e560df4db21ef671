/**
 * Client tokens signed with public-key algorithms (issue 2, "Connect with a JWT …
 * RS256/JWKS"): a gateway configured with AUTH_JWT_PUBLIC_KEY (RSA, EC) or
 * AUTH_JWKS_URL (a real HTTP server here) welcomes a token its key signed, and
 * turns away with AUTH_INVALID_TOKEN (4001) one signed by anything else — including
 * an HS256 token "signed" with the public key, the algorithm-confusion attack.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

interface SigningKey {
  alg: string;
  privateKey: CryptoKey | KeyObject;
  publicKey: CryptoKey | KeyObject;
  kid: string;
}

async function signingKey(alg: string, kid = alg): Promise<SigningKey> {
  return { alg, kid, ...(await generateKeyPair(alg, { extractable: true })) };
}

const CLAIMS: JWTPayload = { channels: ['room:*'], publish: [], actions: [], tier: 'pro' };

function sign(key: SigningKey, options: { kid?: boolean; sub?: string } = {}): Promise<string> {
  return new SignJWT(CLAIMS)
    .setProtectedHeader({ alg: key.alg, ...(options.kid ? { kid: key.kid } : {}) })
    .setSubject(options.sub ?? `user-${key.alg}`)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);
}

/** A gateway that trusts only the given public-key source (no HS256 secret). */
function gatewayTrusting(auth: Record<string, string>): Promise<TestGateway> {
  // An empty AUTH_JWT_SECRET is "unset"; failed hellos are not slowed down (0 = off).
  return startTestGateway({ AUTH_JWT_SECRET: '', AUTH_FAILURES_PER_IP: '0', ...auth });
}

const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.drop();
});

async function hello(gw: TestGateway, token: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.url);
  clients.push(client);
  client.send({ type: 'hello', token });
  await client.next((f) => f.type === 'welcome' || f.type === 'error');
  return client;
}

async function expectWelcomed(gw: TestGateway, token: string, userId: string): Promise<void> {
  const client = await hello(gw, token);
  expect(client.frames[0]).toMatchObject({ type: 'welcome', userId });
  // The claims came through: the token allows room:* and nothing else.
  client.send({ type: 'subscribe', channel: 'room:1', ref: 'ok' });
  client.send({ type: 'subscribe', channel: 'news', ref: 'no' });
  await client.next((f) => f.type === 'subscribed' && f.ref === 'ok');
  await expect(client.next((f) => f.type === 'error' && f.ref === 'no')).resolves.toMatchObject({
    code: 'FORBIDDEN_CHANNEL',
  });
}

async function expectRejected(gw: TestGateway, token: string): Promise<void> {
  const client = await hello(gw, token);
  expect(client.frames.map((f) => f.type)).toEqual(['error']);
  expect((client.frames[0] as ErrorFrame).code).toBe('AUTH_INVALID_TOKEN');
  expect(await client.waitClosed()).toEqual({ code: 4001, reason: 'AUTH_INVALID_TOKEN' });
}

describe('AUTH_JWT_PUBLIC_KEY with an RSA key', () => {
  let gw: TestGateway;
  let rs256: SigningKey;
  let ps256: SigningKey;
  beforeAll(async () => {
    // A plain RSA key pair, as an identity provider holds it: it signs RS256 and PS256
    // alike (a WebCrypto key would be bound to one of them), and its public half verifies both.
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rs256 = { alg: 'RS256', kid: 'rsa', ...pair };
    ps256 = { ...rs256, alg: 'PS256' };
    gw = await gatewayTrusting({ AUTH_JWT_PUBLIC_KEY: await exportSPKI(rs256.publicKey) });
  });
  afterAll(() => gw.stop());

  it('welcomes an RS256 token signed by the key, with its claims', async () => {
    await expectWelcomed(gw, await sign(rs256), 'user-RS256');
  });

  it('welcomes a PS256 token signed by the same key', async () => {
    await expectWelcomed(gw, await sign(ps256), 'user-PS256');
  });

  it('rejects an RS256 token signed by another RSA key', async () => {
    await expectRejected(gw, await sign(await signingKey('RS256')));
  });

  it('rejects an HS256 token, even one whose secret is the public key itself', async () => {
    const pem = await exportSPKI(rs256.publicKey);
    await expectRejected(gw, await mintToken({ sub: 'mallory' }, pem));
  });
});

describe('AUTH_JWT_PUBLIC_KEY with an EC P-256 key', () => {
  let gw: TestGateway;
  let es256: SigningKey;
  beforeAll(async () => {
    es256 = await signingKey('ES256');
    gw = await gatewayTrusting({ AUTH_JWT_PUBLIC_KEY: await exportSPKI(es256.publicKey) });
  });
  afterAll(() => gw.stop());

  it('starts (the key is not forced into RS256) and welcomes an ES256 token signed by it', async () => {
    await expectWelcomed(gw, await sign(es256), 'user-ES256');
  });

  it('rejects an ES256 token signed by another key and an RS256 token', async () => {
    await expectRejected(gw, await sign(await signingKey('ES256')));
    await expectRejected(gw, await sign(await signingKey('RS256')));
  });
});

describe('AUTH_JWKS_URL', () => {
  let gw: TestGateway;
  let jwks: Server;
  let rs256: SigningKey;
  let es256: SigningKey;
  let requests = 0;
  beforeAll(async () => {
    rs256 = await signingKey('RS256', 'rsa-1');
    es256 = await signingKey('ES256', 'ec-1');
    const keys = await Promise.all(
      [rs256, es256].map(async (k) => ({
        ...(await exportJWK(k.publicKey)),
        kid: k.kid,
        alg: k.alg,
        use: 'sig',
      })),
    );
    // What an identity provider serves at /.well-known/jwks.json.
    jwks = createServer((req, res) => {
      requests++;
      if (req.url === '/.well-known/jwks.json')
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    gw = await gatewayTrusting({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
  });
  afterAll(async () => {
    await gw.stop();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('welcomes tokens signed by either published key, fetching the key set from the endpoint', async () => {
    await expectWelcomed(gw, await sign(rs256, { kid: true }), 'user-RS256');
    await expectWelcomed(gw, await sign(es256, { kid: true }), 'user-ES256');
    expect(requests).toBeGreaterThan(0);
  });

  it('rejects a token whose kid is not published, and one signed by a key posing as a published kid', async () => {
    await expectRejected(gw, await sign(await signingKey('RS256', 'rsa-unknown'), { kid: true }));
    await expectRejected(gw, await sign(await signingKey('RS256', 'rsa-1'), { kid: true }));
  });
});
