/**
 * permessage-deflate (RFC 7692) on both edges, from one setting (WS_COMPRESSION):
 * uWS takes its CompressOptions bitmask as it is (`compression` in the behavior);
 * the portable edge reads the same mask into `ws`'s perMessageDeflate options.
 * Which frames are compressed is decided by the gateway per send (src/core/compression.ts).
 */
import type { CompressionConfig } from '../config/config.ts';

/**
 * uWS's CompressOptions (uWebSockets.js `index.d.ts`), the values its builds export.
 * A dedicated compressor's name gives its memory per socket, not its window: the
 * mask's high nibble is deflate's windowBits, the low one its memLevel.
 */
export const COMPRESS_OPTIONS = {
  DISABLED: 0,
  SHARED_COMPRESSOR: 1,
  DEDICATED_COMPRESSOR_32KB: 197,
  DEDICATED_COMPRESSOR_64KB: 214,
  DEDICATED_COMPRESSOR_128KB: 231,
  DEDICATED_COMPRESSOR_256KB: 248,
} as const;

/** Window (KiB, WS_COMPRESSION_WINDOW_KB) → the dedicated compressor with that window. */
const DEDICATED: Record<number, number> = {
  4: COMPRESS_OPTIONS.DEDICATED_COMPRESSOR_32KB,
  8: COMPRESS_OPTIONS.DEDICATED_COMPRESSOR_64KB,
  16: COMPRESS_OPTIONS.DEDICATED_COMPRESSOR_128KB,
  32: COMPRESS_OPTIONS.DEDICATED_COMPRESSOR_256KB,
};

/** The behavior's `compression` for the configured mode. */
export function compressOptions(config: CompressionConfig): number {
  if (config.mode === 'off') return COMPRESS_OPTIONS.DISABLED;
  if (config.mode === 'shared') return COMPRESS_OPTIONS.SHARED_COMPRESSOR;
  return DEDICATED[config.windowKb] ?? COMPRESS_OPTIONS.DEDICATED_COMPRESSOR_32KB;
}

/** What `ws` is told for a uWS mask; false: no permessage-deflate. */
export type DeflateOptions =
  | false
  | { serverNoContextTakeover: boolean; serverMaxWindowBits?: number; threshold: number };

/**
 * A shared compressor keeps no context between messages (uWS negotiates
 * server_no_context_takeover for it); a dedicated one keeps 2^windowBits bytes. The
 * threshold is the gateway's (it passes `compress` per send), so ws's own is 0.
 */
export function deflateOptions(mask: number | undefined): DeflateOptions {
  if (!mask) return false;
  if (mask === COMPRESS_OPTIONS.SHARED_COMPRESSOR) return { serverNoContextTakeover: true, threshold: 0 };
  return { serverNoContextTakeover: false, serverMaxWindowBits: mask >> 4, threshold: 0 };
}
