/**
 * One unfragmented, unmasked WebSocket frame as a server sends it (RFC 6455 §5.2):
 * FIN + opcode (1 text, 2 binary), then the payload length in 7, 7+16 or 7+64 bits.
 */
export function serverFrame(payload: Uint8Array, isBinary: boolean): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | (isBinary ? 0x2 : 0x1);
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(payload, headerLength);
  return frame;
}
