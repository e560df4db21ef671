/**
 * `ping`'s `ts` (docs/protocol.md §3, "ping, bye"): any finite number, echoed in `pong` as the
 * double it reads as. A JSON number past a double's range (`1e400`) reads as Infinity, which
 * JSON cannot carry back: it is refused as MALFORMED_MESSAGE — and the doc says so, rather
 * than "any number".
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorFrame } from '../../src/shared/frames.ts';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { endpoint, TRANSPORTS, type Transport } from '../support/sse-test-socket.ts';
import { TestClient } from '../support/ws-client.ts';

const gateways: TestGateway[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

/** The pong answering a ping written by hand (`ts` as raw JSON text). */
async function ping(client: TestClient, tsText: string): Promise<{ type: string; ts?: unknown }> {
  client.send(`{"type":"ping","ts":${tsText}}`);
  return client.next((f) => f.type === 'pong' || f.type === 'error');
}

describe.each(TRANSPORTS)('ping ts over %s', (transport: Transport) => {
  it('echoes any finite number and refuses one past a double, the connection unharmed', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const { client } = await TestClient.session(endpoint(gw, transport), { token: await mintToken() });
    clients.push(client);

    for (const [text, value] of [
      ['1718000000000', 1718000000000],
      ['-0.5', -0.5],
      ['1.7976931348623157e308', Number.MAX_VALUE],
      // Past a double's precision: echoed as the double it reads as, not digit for digit.
      ['12345678901234567890123', Number('12345678901234567890123')],
    ] as const)
      expect(await ping(client, text), text).toMatchObject({ type: 'pong', ts: value });

    for (const text of ['1e400', '-1e400']) {
      const refused = (await ping(client, text)) as ErrorFrame;
      expect(refused, text).toMatchObject({ type: 'error', code: 'MALFORMED_MESSAGE' });
      expect(refused.detail).toMatch(/^ping\/ts/);
    }
    expect(await ping(client, '1')).toMatchObject({ type: 'pong', ts: 1 });
    expect(client.closed).toBeUndefined();
  });
});

describe('docs/protocol.md', () => {
  it('says what ping ts takes: a finite number, 1e400 refused', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const start = doc.indexOf('`ping` (`ts?`:');
    expect(start).toBeGreaterThanOrEqual(0);
    const text = doc.slice(start, doc.indexOf('`bye`', start)).replace(/\s+/g, ' ');
    expect(text).toContain('`ts?`: any finite number');
    expect(text).toContain('(`1e400`) is not one: `MALFORMED_MESSAGE`');
  });
});
