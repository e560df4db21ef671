/**
 * Which frames go out compressed: with WS_COMPRESSION on, those of at least
 * WS_COMPRESSION_THRESHOLD_BYTES characters — deflating a short frame costs CPU and
 * saves next to nothing (the frame header and deflate's own block overhead remain).
 * Whether a socket compresses at all is the edge's negotiation (src/edge/compression.ts).
 */
import type { Config } from '../config/config.ts';

/** The shortest frame sent compressed; Infinity when compression is off. */
export function compressFrom(config: Pick<Config, 'compression'>): number {
  const compression = config.compression;
  return compression === undefined || compression.mode === 'off'
    ? Number.POSITIVE_INFINITY
    : compression.thresholdBytes;
}
