/**
 * Tokens the gateway cannot take, against a real gateway: a getToken() that returns something
 * other than a token string is refused by the SDK itself (TOKEN_UNAVAILABLE), never sent; a
 * `hello` the gateway refuses without closing (MALFORMED_MESSAGE: it waits for a corrected one)
 * ends the attempt at once, and the client fails with the gateway's reason rather than sitting
 * in `connecting` until its timeout and trying the same again; a fixed `token` that has expired
 * fails the client with AUTH_TOKEN_EXPIRED, as there is no new one to try.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TetherClient, type TetherClientError } from '../../packages/client/src/index.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;
const clients: TetherClient[] = [];
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await gw?.stop();
});

function newClient(token: { getToken: () => string } | { token: string }): TetherClient {
  const client = new TetherClient({ url: gw.url, WebSocket, transport: 'websocket', ...token });
  clients.push(client);
  return client;
}

const firstError = (client: TetherClient) =>
  new Promise<TetherClientError>((resolve) => client.once('error', resolve));

describe('tokens the gateway cannot take', () => {
  it('a getToken() that returns a number is refused by the SDK as TOKEN_UNAVAILABLE, and never sent', async () => {
    const client = newClient({ getToken: () => 42 as unknown as string });
    const error = firstError(client);
    client.connect();
    await expect(error).resolves.toMatchObject({
      code: 'TOKEN_UNAVAILABLE',
      retryable: true,
      detail: 'getToken() returned number, not a token',
    });
    expect(client.state).toBe('reconnecting');
  });

  it('a hello the gateway refuses without a close fails the client with the gateway’s reason', async () => {
    // Longer than hello's token may be (docs/protocol.md §3): refused as MALFORMED_MESSAGE.
    const client = newClient({ getToken: () => 'x'.repeat(9000) });
    const ready = client.ready();
    client.connect();
    await expect(ready).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE', retryable: false });
    expect(client.state).toBe('failed');
    expect(client.stats().attempt).toBe(0); // not tried again: the same hello would be refused again
  });

  it('a fixed token that has expired fails the client with AUTH_TOKEN_EXPIRED: it is not sent again', async () => {
    const client = newClient({ token: await mintToken({ sub: 'expired', expiresIn: '-10s' }) });
    const ready = client.ready();
    client.connect();
    await expect(ready).rejects.toMatchObject({ code: 'AUTH_TOKEN_EXPIRED' });
    expect(client.state).toBe('failed');
    expect(client.stats().attempt).toBe(0);
  });
});
