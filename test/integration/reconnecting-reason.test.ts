/**
 * A session the gateway closed waits in `reconnecting` saying what closed it: the registry code
 * (machines/connection.machine.ts `lastCloseReason`), shown by `GET /connections/:id` in the
 * actor's context and its last transition. A close code alone does not tell: 1012 is a drain,
 * a takeover or a lost log; 1013 a shed (src/shared/errors.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mintToken, startTestGateway, TEST_ADMIN_KEY, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' };
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

async function waiting(sessionId: string) {
  const res = await fetch(`${gw.http}/connections/${sessionId}`, { headers: admin });
  return (await res.json()) as {
    actor: { state: string; context: Record<string, unknown> };
    history: { to: string; detail?: string }[];
  };
}

it('closed by the backend (resumable disconnect): reconnecting, DISCONNECTED_BY_SERVER', async () => {
  const { client, welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'why-1' }) });
  const order = await fetch(`${gw.http}/users/why-1/disconnect`, {
    method: 'POST',
    headers: admin,
    body: '{}',
  });
  expect(order.status).toBe(200);
  expect((await client.waitClosed()).code).toBe(4010);
  const snapshot = await waiting(welcome.sessionId);
  expect(snapshot.actor).toMatchObject({
    state: 'reconnecting',
    context: { lastCloseCode: 4010, lastCloseReason: 'DISCONNECTED_BY_SERVER' },
  });
  expect(snapshot.history.at(-1)).toMatchObject({ to: 'reconnecting', detail: 'DISCONNECTED_BY_SERVER' });
});

it('dropped by the network: reconnecting, no code of the gateway’s', async () => {
  const { client, welcome } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'why-2' }) });
  client.drop();
  await client.waitClosed();
  const snapshot = await waiting(welcome.sessionId);
  expect(snapshot.actor.state).toBe('reconnecting');
  expect(snapshot.actor.context.lastCloseReason).toBeUndefined();
  expect(snapshot.history.at(-1)?.detail).toBeUndefined();
});
