/**
 * An upgrade the edge refuses after the gateway's upgrade handler ran leaves nothing behind.
 * The handler makes the connection (and, tracing on, its trace) before the edge completes the
 * handshake; the portable edge then refuses a malformed one (`ws` answers 400: a bad
 * Sec-WebSocket-Version, Key or Protocol), so no socket opens and none closes. A trace kept by
 * ID from the upgrade was forgotten only on a close: each such request, from anyone, without a
 * token, grew the process for good. uWS upgrades these (the socket opens, then closes).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayTelemetry } from '../../src/observability/telemetry.ts';
import { eventually } from '../support/events.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { traceToMemory } from '../support/spans.ts';

let gw: TestGateway;
beforeAll(async () => {
  await traceToMemory(); // before the gateway: it checks once whether tracing is on
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

/** A raw upgrade with `headers`; resolves with the status line once the server closed the socket. */
function upgrade(headers: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(Number(new URL(gw.http).port), '127.0.0.1', () =>
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`,
      ),
    );
    socket.on('data', (chunk) => {
      answer += chunk;
      // uWS upgrades these: the client leaves, as one would that cannot speak its protocol.
      if (answer.startsWith('HTTP/1.1 101')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
  });
}

const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('an upgrade refused for a malformed handshake', () => {
  it.each([
    ['an unknown Sec-WebSocket-Version', `${KEY}Sec-WebSocket-Version: 12\r\n`],
    [
      'a Sec-WebSocket-Key that is not 16 bytes of base64',
      'Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\nSec-WebSocket-Version: 13\r\n',
    ],
    [
      'a Sec-WebSocket-Protocol that is not a list of tokens',
      `${KEY}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a b\r\n`,
    ],
  ])('keeps no trace of its connection: %s', async (_name, headers) => {
    const telemetry = gw.gateway.core.telemetry as GatewayTelemetry;
    const made: string[] = [];
    const original = telemetry.connectionTrace.bind(telemetry);
    const spy = vi.spyOn(telemetry, 'connectionTrace').mockImplementation((info, correlationId) => {
      made.push(info.connectionId);
      return original(info, correlationId);
    });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => upgrade(headers)));
      for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 (400|101) /);
    } finally {
      spy.mockRestore();
    }
    await eventually(() => (gw.gateway.core.connections.size === 0 ? true : undefined), 'sockets closed');
    expect(made.length).toBeGreaterThan(0);
    for (const id of made) expect(telemetry.traceOf(id)).toBeUndefined();
  });
});
