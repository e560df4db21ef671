/**
 * Live Stately inspection (INSPECT): the gateway serves @statelyai/inspect's
 * bridge and streams the pool's and the chosen connections' transitions to every
 * browser on it. Here a `ws` client stands in for the browser page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../src/redis/embedded-redis.ts';
import { eventually, settle } from '../support/events.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

interface InspectionEvent {
  type: string;
  name?: string;
  sessionId: string;
  definition?: string;
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
}

const opened: { close(): void }[] = [];
const gateways: TestGateway[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) item.close();
  await Promise.all(gateways.splice(0).map((gw) => gw.stop()));
});

async function inspectedGateway(inspect: string) {
  const port = await freePort();
  const gw = await startTestGateway({ INSPECT: inspect, INSPECT_PORT: String(port) });
  gateways.push(gw);
  const events: InspectionEvent[] = [];
  const browser = await eventually(
    () =>
      new Promise<WebSocket | undefined>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        ws.once('open', () => resolve(ws));
        ws.once('error', () => resolve(undefined));
      }),
    'the inspector bridge',
  );
  browser.on('message', (data) => events.push(JSON.parse(data.toString()) as InspectionEvent));
  opened.push(browser);
  return { gw, port, events };
}

/** Session IDs of connection actors announced to the inspector, by user (from later snapshots). */
function userOf(events: InspectionEvent[], sessionId: string): unknown {
  return events.find((e) => e.sessionId === sessionId && e.snapshot?.context?.userId)?.snapshot?.context
    ?.userId;
}

describe('INSPECT', () => {
  it('all: the pool and every connection, with machine definitions and live snapshots', async () => {
    const { port, gw, events } = await inspectedGateway('all');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(await page.text()).toContain('stately.ai/inspect');

    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'ines' }) });
    await settle(client);
    const connection = await eventually(
      () => events.find((e) => e.type === '@xstate.actor' && e.name === 'connection'),
      'a connection actor announced',
    );
    expect(events.some((e) => e.type === '@xstate.actor' && e.name === 'pool')).toBe(true);
    expect(JSON.parse(connection.definition as string)).toMatchObject({ id: 'connection' });
    await eventually(
      () => events.some((e) => e.sessionId === connection.sessionId && e.snapshot?.value === 'connected'),
      'the connected snapshot',
    );
    client.close();
  });

  it('users:ID attaches only those users’ connections, once they authenticated', async () => {
    const { gw, events } = await inspectedGateway('users:vip');
    const vip = await TestClient.session(gw.url, { token: await mintToken({ sub: 'vip' }) });
    const other = await TestClient.session(gw.url, { token: await mintToken({ sub: 'someone' }) });
    await settle(vip.client);
    await settle(other.client);
    vip.client.send({ type: 'bye' });
    await vip.client.waitClosed();
    const announced = await eventually(() => {
      const actors = events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection');
      return actors.length > 0 && actors.every((a) => userOf(events, a.sessionId)) ? actors : undefined;
    }, 'the vip connection with its user');
    expect(announced.map((a) => userOf(events, a.sessionId))).toEqual(['vip']);
    await eventually(
      () => events.some((e) => e.snapshot?.value === 'closed' && e.snapshot.context?.userId === 'vip'),
      'the vip session closing, live',
    );
    other.client.close();
  });

  it('sample:N attaches one connection actor in N', async () => {
    const { gw, events } = await inspectedGateway('sample:2');
    const token = await mintToken({ sub: 'sam' });
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await TestClient.session(gw.url, { token }));
    for (const { client } of sessions) await settle(client);
    const connectionIds = new Set(sessions.map((s) => s.welcome.connectionId));
    const inspected = await eventually(() => {
      const seen = new Set(
        events
          .map((e) => e.snapshot?.context?.connectionId)
          .filter((id): id is string => typeof id === 'string' && connectionIds.has(id)),
      );
      return seen.size >= 2 ? seen : undefined;
    }, 'two sampled connections');
    expect(inspected.size).toBe(2);
    expect(events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection')).toHaveLength(2);
    for (const { client } of sessions) client.close();
  });

  it('pool: the pool only', async () => {
    const { gw, events } = await inspectedGateway('pool');
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'pam' }) });
    await settle(client);
    await eventually(() => events.some((e) => e.type === '@xstate.actor' && e.name === 'pool'), 'the pool');
    expect(events.filter((e) => e.type === '@xstate.actor' && e.name === 'connection')).toEqual([]);
    client.close();
  });
});
