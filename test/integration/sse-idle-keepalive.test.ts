/**
 * A quiet SDK on the SSE fallback stays connected whatever HEARTBEAT_IDLE_TIMEOUT_S is: the
 * gateway drops a stream whose client POSTed nothing for that long (docs/protocol.md §1.1),
 * and says how long in its `open` event, so the SDK's stream keeps itself heard — even when
 * the timeout (8 s here, the least allowed) is shorter than the SDK's heartbeat ping (20 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient } from '../../packages/client/src/index.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { RawSseStream } from '../support/raw-sse-stream.ts';

const IDLE_TIMEOUT_S = 8;
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ HEARTBEAT_IDLE_TIMEOUT_S: String(IDLE_TIMEOUT_S) });
});
afterAll(async () => {
  await gw?.stop();
});

describe('SSE idle timeout', () => {
  it('announces the idle timeout in the open event', async () => {
    const stream = await RawSseStream.open(gw.sseUrl);
    const open = await stream.next((m) => m.event === 'open');
    stream.close();
    expect(JSON.parse(open.data)).toMatchObject({ idleTimeoutMs: IDLE_TIMEOUT_S * 1000 });
  });

  it('keeps a quiet SDK stream connected past the timeout', { timeout: 30_000 }, async () => {
    const token = await mintToken({ sub: 'quiet-sse' });
    const client = new TetherClient({
      url: gw.url,
      transport: 'sse',
      getToken: () => token,
      networkAware: false,
    });
    const states: string[] = [];
    client.on('state', ({ newState }) => states.push(newState));
    client.connect();
    await client.ready();
    await new Promise((resolve) => setTimeout(resolve, (IDLE_TIMEOUT_S + 5) * 1000));
    const seen = [...states];
    client.disconnect();
    expect(seen).toEqual(['connecting', 'connected']);
  });
});
