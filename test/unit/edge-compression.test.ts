/**
 * WS_COMPRESSION as each edge reads it (src/edge/compression.ts): the uWS mask for a
 * mode, and the same mask read back into `ws`'s options, so both edges negotiate the
 * same window; off is no extension at all.
 */
import { describe, expect, it } from 'vitest';
import { COMPRESS_OPTIONS, compressOptions, deflateOptions } from '../../src/edge/compression.ts';

describe('permessage-deflate settings', () => {
  it('off is no extension on either edge', () => {
    const mask = compressOptions({ mode: 'off', thresholdBytes: 256, windowKb: 4 });
    expect(mask).toBe(COMPRESS_OPTIONS.DISABLED);
    expect(deflateOptions(mask)).toBe(false);
  });

  it('shared keeps no context between messages', () => {
    const mask = compressOptions({ mode: 'shared', thresholdBytes: 256, windowKb: 4 });
    expect(mask).toBe(COMPRESS_OPTIONS.SHARED_COMPRESSOR);
    expect(deflateOptions(mask)).toEqual({ serverNoContextTakeover: true, threshold: 0 });
  });

  it.each([4, 8, 16, 32])('dedicated with a %i KiB window: the same window on both edges', (windowKb) => {
    const mask = compressOptions({ mode: 'dedicated', thresholdBytes: 0, windowKb });
    expect(deflateOptions(mask)).toEqual({
      serverNoContextTakeover: false,
      serverMaxWindowBits: Math.log2(windowKb * 1024),
      threshold: 0,
    });
  });
});
