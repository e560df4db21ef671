/**
 * src/protocol/frame-codec.ts: the `detail` of MALFORMED_MESSAGE is what a client
 * developer reads to fix a frame (docs/errors.md), so it is asserted whole: the field,
 * the rule, and the offending property name only when there is one.
 */
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../src/core/tether-error.ts';
import { decodeFrame } from '../../src/protocol/frame-codec.ts';
import { CHANNEL_PATTERN, EVENT_ID_PATTERN } from '../../src/shared/identifiers.ts';

function detailOf(frame: unknown): string | undefined {
  try {
    decodeFrame(JSON.stringify(frame));
  } catch (error) {
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('MALFORMED_MESSAGE');
    return (error as TetherError).detail;
  }
  throw new Error('accepted');
}

describe('MALFORMED_MESSAGE detail, whole', () => {
  it.each([
    [{ type: 'subscribe', channel: 'a b' }, `subscribe/channel: must match pattern "${CHANNEL_PATTERN}"`],
    [
      { type: 'subscribe', channel: 'a', from: 'x' },
      `subscribe/from: must match pattern "${EVENT_ID_PATTERN}"`,
    ],
    [{ type: 'ping', ts: 'now' }, 'ping/ts: must be number'],
    [{ type: 'publish', channel: 'a' }, "publish/: must have required property 'data'"],
    [{ type: 'bye', reason: 'x'.repeat(257) }, 'bye/reason: must NOT have more than 256 characters'],
  ])('%j → %s', (frame, detail) => {
    expect(detailOf(frame)).toBe(detail);
  });

  it('names the unknown property, at the level where it is', () => {
    expect(detailOf({ type: 'ping', extra: 1 })).toBe('ping/: must NOT have additional properties "extra"');
    expect(detailOf({ type: 'hello', client: { os: 'x' } })).toBe(
      'hello/client: must NOT have additional properties "os"',
    );
  });
});
