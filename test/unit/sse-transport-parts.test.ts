/**
 * The pure parts of the SSE fallback (issue 17): which transport the SDK tries and
 * remembers, how it reads a message and packs POSTs, and how the gateway reads an event frame's
 * head and a `Last-Event-ID`.
 */
import { describe, expect, it } from 'vitest';
import { parseSseMessage, takePostBody } from '../../packages/client/src/sse-wire.ts';
import { TransportChoice } from '../../packages/client/src/transport-choice.ts';
import { eventFrameText } from '../../src/core/event-frames.ts';
import { type Gap, InboundSequence, MISSING_POST_WAIT_MS, parseSeq } from '../../src/edge/sse/sse-inbound.ts';
import { eventHead, parseLastEventId, positionsId } from '../../src/edge/sse/sse-messages.ts';

describe('TransportChoice', () => {
  it('auto tries WebSocket then SSE, keeps to SSE for its memory once SSE worked, then tries WebSocket again', () => {
    let now = 0;
    const choice = new TransportChoice('auto', 1000, () => now);
    expect(choice.plan()).toEqual(['websocket', 'sse']);
    choice.worked('sse');
    now = 999;
    expect(choice.plan()).toEqual(['sse']);
    now = 1000;
    expect(choice.plan()).toEqual(['websocket', 'sse']);
  });

  it('a WebSocket that opens forgets the fallback; a forced transport is the only one tried', () => {
    const choice = new TransportChoice('auto', 60_000);
    choice.worked('sse');
    choice.worked('websocket');
    expect(choice.plan()).toEqual(['websocket', 'sse']);
    expect(new TransportChoice('sse', 1).plan()).toEqual(['sse']);
    expect(new TransportChoice('websocket', 1).plan()).toEqual(['websocket']);
  });
});

describe('SSE messages', () => {
  it("reads an event frame's channel and ID, escaped names included; other frames have none", () => {
    const channel = 'room:"quoted"\\1';
    const frame = eventFrameText(channel, { id: '1700000000000-3', ts: 1, json: '{"a":1}' } as never);
    expect(eventHead(frame)).toEqual({ channel, id: '1700000000000-3' });
    expect(eventHead('{"type":"pong","ts":1}')).toBeUndefined();
  });

  it('a Last-Event-ID round-trips every position; a foreign one is ignored', () => {
    const positions = new Map([
      ['a', '1-0'],
      ['b', '2-5'],
    ]);
    expect(parseLastEventId(positionsId(positions))).toEqual({ a: '1-0', b: '2-5' });
    expect(parseLastEventId('42')).toEqual({});
    expect(parseLastEventId('not json')).toEqual({});
    expect(parseLastEventId('{"a":1,"b":"2-0"}')).toEqual({ b: '2-0' });
  });
});

describe('InboundSequence', () => {
  const b = (text: string) => Buffer.from(text);
  const texts = (out: Buffer[] | Gap) => (Array.isArray(out) ? out.map(String) : out);

  it('hands POSTs on in the order sent: a later one waits for the earlier, a repeat is dropped', () => {
    const inbound = new InboundSequence();
    expect(texts(inbound.accept(1, b('one')))).toEqual(['one']);
    expect(texts(inbound.accept(3, b('three')))).toEqual([]);
    expect(texts(inbound.accept(2, b('two')))).toEqual(['two', 'three']);
    expect(texts(inbound.accept(2, b('two again')))).toEqual([]);
    expect(texts(inbound.accept(undefined, b('unnumbered')))).toEqual(['unnumbered']);
  });

  it('a POST more than 31 ahead of a missing one is a gap at once; the header is a positive integer or none', () => {
    const inbound = new InboundSequence();
    for (let seq = 2; seq <= 32; seq++) expect(inbound.accept(seq, b('x'))).toEqual([]);
    expect(inbound.accept(33, b('x'))).toEqual({ missing: 1, detail: expect.stringContaining('POST 33') });
    expect(new InboundSequence().accept(1_000_000, b('x'))).toMatchObject({ missing: 1 });
    // The gap filled: everything held comes out in order, and the window moves on.
    expect(texts(inbound.accept(1, b('x')))).toHaveLength(32);
    expect(texts(inbound.accept(64, b('sixty-four')))).toEqual([]);
    expect([parseSeq('7'), parseSeq(''), parseSeq('0'), parseSeq('-1'), parseSeq('1e3')]).toEqual([
      7,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('held POSTs waiting MISSING_POST_WAIT_MS for a missing one are overdue; progress restarts the wait', () => {
    const inbound = new InboundSequence();
    expect(inbound.overdue(0)).toBeUndefined();
    expect(texts(inbound.accept(2, b('two'), 1000))).toEqual([]);
    expect(texts(inbound.accept(4, b('four'), 3000))).toEqual([]); // still waiting for 1, since 1000
    expect(inbound.overdue(1000 + MISSING_POST_WAIT_MS - 1)).toBeUndefined();
    expect(inbound.overdue(1000 + MISSING_POST_WAIT_MS)).toMatchObject({ missing: 1 });
    expect(texts(inbound.accept(1, b('one'), 5000))).toEqual(['one', 'two']); // now waiting for 3
    expect(inbound.overdue(5000 + MISSING_POST_WAIT_MS - 1)).toBeUndefined();
    expect(inbound.overdue(5000 + MISSING_POST_WAIT_MS)).toMatchObject({ missing: 3 });
    expect(texts(inbound.accept(3, b('three'), 6000))).toEqual(['three', 'four']);
    expect(inbound.overdue(1e9)).toBeUndefined();
  });
});

describe('the SDK side of the SSE wire', () => {
  it('reads a message: named event, multi-line data, id; keep-alive comments are skipped', () => {
    expect(parseSseMessage(': keep-alive\nid: {"a":"1-0"}\ndata: {"x":\ndata: 1}')).toEqual({
      event: 'message',
      data: '{"x":\n1}',
      id: '{"a":"1-0"}',
    });
    expect(parseSseMessage('event: open\ndata: {"connection":"t"}')).toMatchObject({ event: 'open' });
  });

  it('packs waiting frames into bodies no larger than the limit, in order, a frame over it alone', () => {
    const waiting = ['aaaa', 'bbbb', 'cccc', 'x'.repeat(20), 'dd'];
    const bodies: string[] = [];
    while (waiting.length > 0) bodies.push(takePostBody(waiting, 9));
    expect(bodies).toEqual(['aaaa\nbbbb', 'cccc', 'x'.repeat(20), 'dd']);
    expect(bodies.every((b) => b.length <= 9 || !b.includes('\n'))).toBe(true);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const waiting = ['ééé', 'ééé'];
    expect(takePostBody(waiting, 12)).toBe('ééé');
    expect(waiting).toEqual(['ééé']);
  });
});
