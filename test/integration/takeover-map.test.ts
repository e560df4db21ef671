/**
 * A live session taken over by another process: its actor here goes from `connected`
 * straight to `closed` (machines/connection.machine.ts, `session.taken`), never through
 * `reconnecting` — it never waited for a resume here (docs/architecture.md, the
 * connection machine's table).
 */
import { afterEach, expect, it } from 'vitest';
import { eventually } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

it('the old process’s actor goes connected → closed, taken by the other process', async () => {
  const a = await startTestGateway({ NODE_ID: 'map-a' });
  gateways.push(a);
  const b = await startTestGateway({ NODE_ID: 'map-b', REDIS_PREFIX: a.prefix });
  gateways.push(b);
  const token = await mintToken({ sub: 'map-mover' });
  const old = await TestClient.session(a.url, { token });
  clients.push(old.client);
  const { sessionId, resumeToken } = old.welcome;
  const path: string[] = [];
  a.gateway.core.supervisor.onTransition((actor, _from, _to, fromTop, toTop) => {
    const { context } = actor.getSnapshot();
    if (context.sessionId === sessionId && fromTop !== toTop) path.push(`${fromTop}→${toTop}`);
  });

  const taken = await TestClient.session(b.url, { token, resume: { sessionId, resumeToken } });
  clients.push(taken.client);
  expect(taken.welcome).toMatchObject({ sessionId, resumed: true });
  expect((await old.client.waitClosed()).code).toBe(1012);
  await eventually(() => path.at(-1)?.endsWith('→closed'), 'the old actor to end', 5000);
  expect(path).toEqual(['connected→closed']);
});
