/**
 * The closing handshake ends with the server closing TCP (RFC 6455 §7.1.1): a client
 * that answers the gateway's close frame at once and then waits for the connection to
 * end — as Python's `websockets` does — must not wait out a timeout. Node's `ws` client
 * ends TCP itself, so it never noticed; this client is raw, over node:net. Each close
 * here is made outside the socket's own callback (after the async token check, from the
 * handshake timer, from a takeover), where the gateway used to hold the socket ~15 s.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ HANDSHAKE_TIMEOUT_MS: '500' });
});
afterAll(async () => {
  await gw?.stop();
});

/** A client frame: masked, as RFC 6455 requires of clients; payloads under 126 bytes or 64 KiB. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, masked]);
}

interface Ended {
  closeCode: number;
  /** ms from the close frame's arrival to the server ending TCP. */
  tcpEndedAfterMs: number;
}

/**
 * Open a WebSocket over a raw TCP socket, send `first` (if any), answer the server's close
 * frame with a close frame and wait for the server to end the connection.
 */
function rawSession(first?: object): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const url = new URL(gw.url);
    const socket: Socket = connect(Number(url.port), url.hostname);
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let closeAt: number | undefined;
    let closeCode = 0;
    socket.on('connect', () =>
      socket.write(
        `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        if (first) socket.write(frame(0x1, Buffer.from(JSON.stringify(first))));
      }
      // Server frames are unmasked; the error frame before the close is under 64 KiB.
      while (buffer.length >= 2) {
        const short = (buffer[1] as number) & 0x7f;
        const headerLength = short === 126 ? 4 : 2;
        const length = short === 126 ? buffer.readUInt16BE(2) : short;
        if (buffer.length < headerLength + length) return;
        const opcode = (buffer[0] as number) & 0x0f;
        const payload = buffer.subarray(headerLength, headerLength + length);
        buffer = buffer.subarray(headerLength + length);
        if (opcode === 0x8 && closeAt === undefined) {
          closeAt = performance.now();
          closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          socket.write(frame(0x8, payload.subarray(0, 2)));
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (closeAt === undefined) reject(new Error('closed without a close frame'));
      else resolve({ closeCode, tcpEndedAfterMs: performance.now() - closeAt });
    });
  });
}

/** Well under uWS's ~15 s close timeout, well over a busy machine's scheduling delays. */
const PROMPTLY_MS = 5000;

describe('after the closing handshake the gateway closes TCP', () => {
  it('for a hello whose token fails its signature check (4001)', async () => {
    const token = await mintToken({ sub: 'forger' }, 'another-secret-that-is-at-least-32-characters');
    const ended = await rawSession({ type: 'hello', token });
    expect(ended.closeCode).toBe(4001);
    expect(ended.tcpEndedAfterMs).toBeLessThan(PROMPTLY_MS);
  });

  it('for a socket that never sends hello (HANDSHAKE_TIMEOUT, 4003)', async () => {
    const ended = await rawSession();
    expect(ended.closeCode).toBe(4003);
    expect(ended.tcpEndedAfterMs).toBeLessThan(PROMPTLY_MS);
  });
});
