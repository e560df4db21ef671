import { afterEach, describe, expect, it } from 'vitest';
import type { QueuedFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('admission when the pool is full', () => {
  it('queues the newcomer with its position, then admits it when a slot frees', async () => {
    gw = await startTestGateway({ MAX_CONNECTIONS: '1' });
    const first = await TestClient.session(gw.url, { token: await mintToken({ sub: 'a' }) });
    const second = await TestClient.connect(gw.url);
    second.send({ type: 'hello', token: await mintToken({ sub: 'b' }) });
    const queued = (await second.next((f) => f.type === 'queued')) as QueuedFrame;
    expect(queued.position).toBe(1);
    expect(gw.gateway.ctx.supervisor.poolState()).toBe('saturated');
    first.client.close();
    const welcome = await second.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ userId: 'b' });
    second.close();
  });
});
