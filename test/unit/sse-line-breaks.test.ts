/**
 * Every SSE message the gateway writes (src/edge/sse/sse-messages.ts) survives raw line breaks
 * in its frame's text (docs/protocol.md §1.1): read by the WHATWG rules (whatwg-event-stream.ts)
 * and by the SDK's parser (packages/client/src/sse-wire.ts), it is one message whose data is the
 * text with CR and CRLF as LF, and whose id is the one written.
 */
import { describe, expect, it } from 'vitest';
import { parseSseMessage } from '../../packages/client/src/sse-wire.ts';
import { closeMessage, dataMessage, openMessage } from '../../src/edge/sse/sse-messages.ts';
import { EventStreamParser } from '../support/whatwg-event-stream.ts';

const FRAMES = {
  'one line': '{"type":"event","channel":"a","id":"1-0","ts":1,"data":{"x":1}}',
  LF: '{"type":"event","channel":"a","id":"1-0","ts":1,"data":{\n  "x": 1\n}}',
  CRLF: '{"type":"event","channel":"a","id":"1-0","ts":1,"data":{\r\n  "x": 1\r\n}}',
  'lone CR': '{"type":"event","channel":"a","id":"1-0","ts":1,"data":{\r  "x": 1\r}}',
  'blank lines': '{"type":"event","channel":"a","id":"1-0","ts":1,"data":{\n\n"x":\r\n\r\n1\r\r}}',
  'a break first and last': '\n{"type":"error","code":"INTERNAL"}\r\n',
  'a batch':
    '{"type":"batch","frames":[{"type":"event","channel":"a","id":"1-0","ts":1,"data":[\n1,\r\n2\r]}]}',
  'only breaks': '\r\n\n\r',
};

/** What the WHATWG rules make of `text`: every message dispatched. */
function whatwg(text: string) {
  const parser = new EventStreamParser();
  parser.feed(text);
  parser.end();
  return parser.messages;
}

describe('SSE messages with raw line breaks in the frame', () => {
  for (const [name, frame] of Object.entries(FRAMES)) {
    it(`${name}: one message, its data the frame with CR and CRLF as LF`, () => {
      const expected = frame.replace(/\r\n?/g, '\n');
      const id = '{"a":"1-0"}';
      for (const [written, lastEventId] of [
        [dataMessage(frame, id), id],
        [dataMessage(frame, undefined), ''],
      ] as const) {
        expect(whatwg(written)).toEqual([{ type: 'message', data: expected, lastEventId }]);
        // The SDK cuts the stream at blank lines (`\n\n`): the only one ends the message.
        expect(written.indexOf('\n\n')).toBe(written.length - 2);
        expect(written).not.toContain('\r');
        const sdk = parseSseMessage(written.slice(0, -2));
        expect(sdk).toEqual({ event: 'message', data: expected, ...(lastEventId ? { id } : {}) });
      }
    });
  }

  it('the open and close events are messages of their own type', () => {
    const stream = openMessage('tok', 1024, 40_000) + closeMessage(4001, 'AUTH_INVALID_TOKEN');
    expect(whatwg(stream)).toEqual([
      {
        type: 'open',
        data: '{"connection":"tok","maxPostBytes":1024,"idleTimeoutMs":40000}',
        lastEventId: '',
      },
      { type: 'close', data: '{"code":4001,"reason":"AUTH_INVALID_TOKEN"}', lastEventId: '' },
    ]);
  });
});

describe('the WHATWG parser of these tests', () => {
  it('reads CRLF split across chunks as one line end, and drops an event the stream cut', () => {
    const parser = new EventStreamParser();
    for (const chunk of ['data: a\r', '\ndata: b\r', '\r', '\ndata: lost']) parser.feed(chunk);
    parser.end();
    expect(parser.messages).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }]);
  });
});
