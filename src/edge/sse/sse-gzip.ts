/**
 * gzip on SSE streams (docs/protocol.md §1.1), from the WebSocket's setting (WS_COMPRESSION):
 * an event stream never ends, so every message is flushed as it is written — a client
 * decodes each event as it comes, none waits in a compressor. Node's zlib streams are
 * asynchronous and its synchronous calls one-shot, so the stream is built by hand: a gzip
 * header, then each message deflated on its own (`deflateRawSync`, ending in a sync flush:
 * byte-aligned, not final), then at the end an empty final block and the trailer (RFC 1952).
 *
 * - `shared`: a message is deflated without context, like uWS's shared compressor — the
 *   same bytes for every stream, so a publish is compressed once for all its streams.
 * - `dedicated`: a message is deflated with the stream's last WS_COMPRESSION_WINDOW_KB
 *   of text as its dictionary: the very bytes the client's decoder holds as its window,
 *   so back-references into earlier events are valid. Repetitive JSON shrinks far more;
 *   the stream keeps that much text (no deflate state between messages). Streams of one
 *   channel soon hold the same window: a publish is deflated once per distinct window, and
 *   the streams that shared one share the next (the same Buffer: compared by identity first).
 *
 * Messages shorter than WS_COMPRESSION_THRESHOLD_BYTES go as stored blocks (no deflate).
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { CompressionConfig } from '../../config/config.ts';

/** What an SSE stream is encoded with, as `/health/websocket` reports it. */
export type SseEncodingName = 'gzip' | 'identity';

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]); // deflate, no name, no mtime, OS unknown
/** An empty final block with fixed Huffman codes: the deflate data ends here. */
const FINAL_BLOCK = [0x03, 0x00];
const MAX_STORED = 0xffff;

/** A message shared by every stream a publish reaches: its deflated bytes are made once. */
export interface SharedText {
  text: string;
  /** Set by the first stream that encodes it. */
  encoded?: SharedEncoding;
}

interface SharedEncoding {
  bytes: Buffer;
  /** `shared` mode: the message deflated alone. */
  alone?: Buffer;
  /** `dedicated` mode: the message deflated after each distinct window seen. */
  afterWindow: { window: Buffer; out: Buffer; next: Buffer }[];
}

/** Distinct windows a publish is deflated after, at most: past these, streams deflate on their own. */
const MAX_SHARED_WINDOWS = 4;

/** Whether `header` (Accept-Encoding) accepts gzip: named, or `*`, without `q=0`. */
export function acceptsGzip(header: string): boolean {
  for (const part of header.toLowerCase().split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim());
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/** The SSE settings from the WebSocket's: gzip whenever WS_COMPRESSION is on. */
export function sseEncodingFor(config: CompressionConfig): SseEncodingName {
  return config.mode === 'off' ? 'identity' : 'gzip';
}

/** What `/health/websocket` reports next to the WebSocket's compression. */
export interface SseCompression {
  /** gzip: for clients whose Accept-Encoding takes it; identity: never. */
  encoding: SseEncodingName;
  /** Earlier text a message may refer back to (KiB; 0: each message compressed alone). */
  contextKb: number;
  /** Messages shorter than this go uncompressed (stored). */
  thresholdBytes: number;
}

export function sseCompression(config: CompressionConfig): SseCompression {
  const encoding = sseEncodingFor(config);
  return {
    encoding,
    contextKb: config.mode === 'dedicated' ? config.windowKb : 0,
    thresholdBytes: encoding === 'gzip' ? config.thresholdBytes : 0,
  };
}

export class GzipStream {
  private crc = 0;
  private size = 0;
  /** The stream's last text, `dedicated` only: the dictionary of the next message. */
  private window: Buffer = Buffer.alloc(0);
  private readonly windowBytes: number;
  private readonly options: { windowBits: number; memLevel: number };

  constructor(private readonly config: CompressionConfig) {
    this.windowBytes = config.mode === 'dedicated' ? config.windowKb * 1024 : 0;
    const windowBits = Math.log2(config.windowKb * 1024);
    // The memLevel uWS pairs with each window (src/edge/compression.ts): 4 KiB → 5 … 32 KiB → 8.
    this.options = { windowBits, memLevel: windowBits - 7 };
  }

  /** The stream's first bytes. */
  head(): Buffer {
    return GZIP_HEADER;
  }

  /** `text`'s bytes on the wire, flushed: the client can decode all of it now. */
  encode(text: string, shared?: SharedText): Buffer {
    const encoded = shared?.encoded ?? encoding(text);
    if (shared) shared.encoded = encoded;
    const { bytes } = encoded;
    this.crc = crc32(bytes, this.crc);
    this.size = (this.size + bytes.length) >>> 0;
    if (this.windowBytes === 0) {
      encoded.alone ??= this.deflate(bytes);
      return encoded.alone;
    }
    let after = encoded.afterWindow.find((a) => a.window === this.window || a.window.equals(this.window));
    if (!after) {
      const kept = Buffer.concat([this.window, bytes]);
      const next = kept.length > this.windowBytes ? kept.subarray(kept.length - this.windowBytes) : kept;
      after = { window: this.window, out: this.deflate(bytes, this.window), next };
      if (shared && encoded.afterWindow.length < MAX_SHARED_WINDOWS) encoded.afterWindow.push(after);
    }
    this.window = after.next;
    return after.out;
  }

  /** The stream's last bytes: the final block and the trailer (CRC-32 and size of the text). */
  finish(): Buffer {
    const trailer = Buffer.alloc(10);
    trailer.set(FINAL_BLOCK);
    trailer.writeUInt32LE(this.crc >>> 0, 2);
    trailer.writeUInt32LE(this.size, 6);
    return trailer;
  }

  private deflate(bytes: Buffer, dictionary?: Buffer): Buffer {
    if (bytes.length < this.config.thresholdBytes) return stored(bytes);
    return deflateRawSync(bytes, {
      ...this.options,
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(dictionary && dictionary.length > 0 ? { dictionary } : {}),
    });
  }
}

function encoding(text: string): SharedEncoding {
  return { bytes: Buffer.from(text), afterWindow: [] };
}

/** `bytes` as non-final stored blocks (no compression): byte-aligned, spliced anywhere. */
function stored(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MAX_STORED) {
    const block = bytes.subarray(at, at + MAX_STORED);
    const length = block.length;
    parts.push(Buffer.from([0, length & 0xff, length >> 8, ~length & 0xff, (~length >> 8) & 0xff]), block);
  }
  return Buffer.concat(parts);
}
