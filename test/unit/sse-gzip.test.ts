/**
 * The SSE stream's gzip (src/edge/sse/sse-gzip.ts) as a decoder sees it: which requests get it,
 * and that what it writes is one valid gzip member whatever the mix of messages — stored ones
 * (under the threshold, and past a stored block's 65 535 bytes), deflated ones, shared ones.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptsGzip, GzipStream } from '../../src/edge/sse/sse-gzip.ts';

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['deflate, GZIP;q=0.5', true],
    ['*', true],
    ['x-gzip', true],
    ['', false],
    ['identity', false],
    ['gzip;q=0, identity', false],
    ['br, *;q=0', false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe.each(['shared', 'dedicated'] as const)('GzipStream (%s)', (mode) => {
  it('writes one gzip member a strict decoder takes, message by message', () => {
    const config = { mode, thresholdBytes: 64, windowKb: 4 };
    const stream = new GzipStream(config);
    const messages = [
      ': \n\n', // stored: under the threshold
      `data: ${'x'.repeat(70_000)}\n\n`, // deflated: over the threshold
      ...Array.from({ length: 20 }, (_, n) => `data: {"type":"event","n":${n},"text":"hello there"}\n\n`),
    ];
    const shared = { text: messages[5] as string };
    const chunks = [
      stream.head(),
      ...messages.map((m) => stream.encode(m)),
      stream.encode(shared.text, shared),
    ];
    // The same shared message for a second stream with the same history: the same bytes, made once.
    const twin = new GzipStream(config);
    for (const m of messages) twin.encode(m);
    expect(twin.encode(shared.text, shared)).toBe(chunks.at(-1));
    chunks.push(stream.finish());
    expect(gunzipSync(Buffer.concat(chunks)).toString()).toBe(messages.join('') + shared.text);
  });

  it('stores a message past 65 535 bytes under a threshold above it in several blocks', () => {
    const stream = new GzipStream({ mode, thresholdBytes: 1_000_000, windowKb: 4 });
    const text = 'y'.repeat(150_000);
    const body = Buffer.concat([stream.head(), stream.encode(text), stream.finish()]);
    expect(gunzipSync(body).toString()).toBe(text);
  });
});
