/**
 * src/protocol/frame-codec.ts: JSON text → a validated client frame, or a
 * TetherError whose code and detail tell the client exactly what was wrong.
 */
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../src/core/tether-error.ts';
import { decodeFrame, refOf } from '../../src/protocol/frame-codec.ts';
import { ClientFrameSchemas, MAX_NESTING_DEPTH } from '../../src/shared/frames.ts';

/** The error decodeFrame throws for `input` (an object is serialized first). */
function rejection(input: unknown): TetherError {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  try {
    decodeFrame(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TetherError);
    return error as TetherError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

function accepts(frame: Record<string, unknown>): void {
  expect(decodeFrame(JSON.stringify(frame)).frame).toEqual(frame);
}

const ID = '1718000000000-0';

describe('valid frames of every type', () => {
  it.each([
    { type: 'hello' },
    { type: 'hello', token: 'a.b.c', correlationId: 'c-1', traceparent: '00-abc-def-01' },
    { type: 'hello', token: 't', client: { name: 'sdk', version: '1.0.0' } },
    { type: 'hello', token: 't', resume: { sessionId: 's', resumeToken: 'r' } },
    {
      type: 'hello',
      token: 't',
      resume: { sessionId: 's', resumeToken: 'r', lastEventIds: { 'room:1': ID, 'a.b_c-d': '0-0' } },
    },
    { type: 'subscribe', channel: 'room:1' },
    { type: 'subscribe', channel: 'room:1', ref: 'r1', from: ID },
    { type: 'unsubscribe', channel: 'room:1', ref: 'r2' },
    { type: 'publish', channel: 'room:1', data: { text: 'hi', n: [1, 2] } },
    { type: 'publish', channel: 'room:1', ref: 'p', data: null },
    { type: 'publish', channel: 'room:1', data: 'a string' },
    { type: 'action', ref: 'a1', name: 'echo' },
    { type: 'action', ref: 'a2', name: 'report.build:v2', data: { id: 7 } },
    { type: 'ping' },
    { type: 'ping', ts: 1718000000000.5 },
    { type: 'bye' },
    { type: 'bye', reason: 'user logged out' },
    { type: 'refresh', token: 'a.b.c' },
    { type: 'refresh', ref: 'r1', token: 'a.b.c' },
    { type: 'publish', channel: 'room:1', data: 1, idempotencyKey: 'order-7f3a:retry~1' },
    { type: 'history', channel: 'room:1' },
    { type: 'history', ref: 'h1', channel: 'room:1', limit: 1000, since: ID, epoch: 'e1', reverse: true },
    { type: 'presence', channel: 'room:1' },
    { type: 'presence', ref: 'p1', channel: 'room:1', limit: 0 },
    { type: 'presence', channel: 'room:1', limit: 1000, cursor: '9b0e6a53-3f1e-4b5d-9d3c-2a7f0c1e8d44' },
  ])('accepts %j', (frame) => accepts(frame));

  it('covers every client frame type the schema defines', () => {
    expect(Object.keys(ClientFrameSchemas).sort()).toEqual(
      [
        'action',
        'bye',
        'hello',
        'history',
        'ping',
        'presence',
        'publish',
        'refresh',
        'subscribe',
        'unsubscribe',
      ].sort(),
    );
  });
});

describe('invalid frames of every type → MALFORMED_MESSAGE naming the field', () => {
  it.each([
    [{ type: 'hello', token: 42 }, 'hello/token'],
    [{ type: 'hello', token: 'x'.repeat(8193) }, 'hello/token'],
    [{ type: 'hello', correlationId: '' }, 'hello/correlationId'],
    [{ type: 'hello', correlationId: 'a\nb' }, 'hello/correlationId'],
    [{ type: 'hello', correlationId: 'a\u0000b' }, 'hello/correlationId'],
    [{ type: 'hello', correlationId: 'a b' }, 'hello/correlationId'],
    [{ type: 'hello', correlationId: 'c'.repeat(129) }, 'hello/correlationId'],
    [{ type: 'hello', resume: { sessionId: 's' } }, 'hello/resume'],
    [{ type: 'hello', resume: { sessionId: 's', resumeToken: '' } }, 'hello/resume/resumeToken'],
    [{ type: 'hello', client: { name: 1 } }, 'hello/client/name'],
    [{ type: 'subscribe' }, 'subscribe/'],
    [{ type: 'subscribe', channel: 'room:1', ref: '' }, 'subscribe/ref'],
    [{ type: 'subscribe', channel: 'room:1', ref: 'r'.repeat(65) }, 'subscribe/ref'],
    [{ type: 'unsubscribe' }, 'unsubscribe/'],
    [{ type: 'publish', channel: 'room:1' }, 'publish/'],
    [{ type: 'publish', data: 1 }, 'publish/'],
    [{ type: 'action', name: 'echo' }, 'action/'],
    [{ type: 'action', ref: 'a1' }, 'action/'],
    [{ type: 'action', ref: 'a1', name: 'two words' }, 'action/name'],
    [{ type: 'action', ref: 'a1', name: 'echo', channel: 'x' }, 'action/'],
    [{ type: 'ping', ts: 'now' }, 'ping/ts'],
    [{ type: 'presence' }, 'presence/'],
    [{ type: 'presence', channel: 'room:1', limit: 1001 }, 'presence/limit'],
    [{ type: 'presence', channel: 'room:1', limit: 1.5 }, 'presence/limit'],
    [{ type: 'presence', channel: 'room:1', cursor: '' }, 'presence/cursor'],
    [{ type: 'bye', reason: 'x'.repeat(257) }, 'bye/reason'],
    [{ type: 'publish', channel: 'c', data: 1, idempotencyKey: '' }, 'publish/idempotencyKey'],
    [{ type: 'publish', channel: 'c', data: 1, idempotencyKey: 'has space' }, 'publish/idempotencyKey'],
    [{ type: 'publish', channel: 'c', data: 1, idempotencyKey: 'k'.repeat(129) }, 'publish/idempotencyKey'],
    [{ type: 'history' }, 'history/'],
    [{ type: 'history', channel: 'room:*' }, 'history/channel'],
    [{ type: 'history', channel: 'c', limit: 0 }, 'history/limit'],
    [{ type: 'history', channel: 'c', limit: 1001 }, 'history/limit'],
    [{ type: 'history', channel: 'c', limit: 2.5 }, 'history/limit'],
    [{ type: 'history', channel: 'c', since: 'yesterday' }, 'history/since'],
    [{ type: 'history', channel: 'c', since: '18446744073709551616-0' }, 'history/since'],
    [{ type: 'history', channel: 'c', reverse: 'yes' }, 'history/reverse'],
    [{ type: 'history', channel: 'c', epoch: 'a b' }, 'history/epoch'],
    [{ type: 'history', channel: 'c', from: ID }, 'history/'],
  ])('rejects %j', (frame, where) => {
    const error = rejection(frame);
    expect(error.code).toBe('MALFORMED_MESSAGE');
    expect(error.detail).toContain(where);
  });
});

describe('envelope errors', () => {
  it('an unknown type → UNKNOWN_FRAME_TYPE naming it', () => {
    const error = rejection({ type: 'teleport', channel: 'room:1' });
    expect(error.code).toBe('UNKNOWN_FRAME_TYPE');
    expect(error.detail).toBe('unknown type "teleport"');
  });

  it('server frame types are not client frames', () => {
    for (const type of ['welcome', 'event', 'ack', 'error', 'pong', 'subscribed']) {
      expect(rejection({ type }).code).toBe('UNKNOWN_FRAME_TYPE');
    }
  });

  it('inherited property names are not frame types', () => {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(rejection({ type }).code).toBe('UNKNOWN_FRAME_TYPE');
    }
  });

  it('a long unknown type is truncated in the detail', () => {
    const error = rejection({ type: 'x'.repeat(1000) });
    expect(error.detail).toBe(`unknown type "${'x'.repeat(32)}"`);
  });

  it.each(['{', '{"type":"ping"', 'not json', '', "{'type':'ping'}", '{"type":"ping",}'])(
    'bad JSON %j → MALFORMED_MESSAGE with detail',
    (text) => {
      const error = rejection(text);
      expect(error.code).toBe('MALFORMED_MESSAGE');
      expect(error.detail).toBe('not valid JSON');
      expect(error.cause).toBeInstanceOf(SyntaxError);
    },
  );

  it.each(['[]', '[{"type":"ping"}]', 'null', '42', '"ping"', 'true'])(
    'JSON that is not an object (%s) → MALFORMED_MESSAGE',
    (text) => {
      const error = rejection(text);
      expect(error.code).toBe('MALFORMED_MESSAGE');
      expect(error.detail).toBe('a frame must be a JSON object');
    },
  );

  it.each([{}, { type: 1 }, { type: null }, { channel: 'room:1' }])(
    'a missing or non-string type %j',
    (frame) => {
      const error = rejection(frame);
      expect(error.code).toBe('MALFORMED_MESSAGE');
      expect(error.detail).toBe('missing string field "type"');
    },
  );
});

describe('extra properties are rejected, at every level', () => {
  it.each([
    [{ type: 'ping', extra: 1 }, '"extra"'],
    [{ type: 'subscribe', channel: 'a', since: ID }, '"since"'],
    [{ type: 'publish', channel: 'a', data: 1, id: ID }, '"id"'],
    [{ type: 'hello', token: 't', user: 'me' }, '"user"'],
    [{ type: 'hello', resume: { sessionId: 's', resumeToken: 'r', channels: [] } }, '"channels"'],
    [{ type: 'hello', client: { name: 'n', os: 'x' } }, '"os"'],
  ])('%j', (frame, name) => {
    const error = rejection(frame);
    expect(error.code).toBe('MALFORMED_MESSAGE');
    expect(error.detail).toContain('must NOT have additional properties');
    expect(error.detail).toContain(name);
  });

  it('but data inside publish is free-form', () => {
    accepts({ type: 'publish', channel: 'a', data: { anything: { goes: [true, null] } } });
  });
});

describe('channel names', () => {
  it.each(['a', 'room:1', 'org.team_42:chat-room', 'A-Z_0.9:', 'x'.repeat(128)])('accepts %j', (channel) => {
    accepts({ type: 'subscribe', channel });
  });

  it.each(['', 'x'.repeat(129), 'room 1', 'room/1', 'room:*', '*', 'room#1', 'rööm', 'room\n1', 'a{b}'])(
    'rejects %j in subscribe, unsubscribe, publish and lastEventIds',
    (channel) => {
      for (const frame of [
        { type: 'subscribe', channel },
        { type: 'unsubscribe', channel },
        { type: 'publish', channel, data: 1 },
        { type: 'hello', resume: { sessionId: 's', resumeToken: 'r', lastEventIds: { [channel]: ID } } },
      ]) {
        expect(rejection(frame).code).toBe('MALFORMED_MESSAGE');
      }
    },
  );
});

describe('event IDs', () => {
  it.each(['0-0', '1-1', ID, '18446744073709551615-18446744073709551615'])('accepts %j', (from) => {
    accepts({ type: 'subscribe', channel: 'a', from });
  });

  it.each([
    '',
    '1',
    '1-',
    '-1',
    '1-1-1',
    'a-b',
    '1.5-0',
    ' 1-0',
    '1-0 ',
    '+1-0',
    '*',
    '$',
    `${'9'.repeat(21)}-0`,
    `${'9'.repeat(20)}-${'9'.repeat(20)}`, // the right shape, past 2^64 − 1: Redis refuses it
  ])('rejects %j as from and in lastEventIds', (id) => {
    expect(rejection({ type: 'subscribe', channel: 'a', from: id }).detail).toContain('subscribe/from');
    const hello = { type: 'hello', resume: { sessionId: 's', resumeToken: 'r', lastEventIds: { a: id } } };
    expect(rejection(hello).code).toBe('MALFORMED_MESSAGE');
  });

  it('rejects a numeric id', () => {
    expect(rejection({ type: 'subscribe', channel: 'a', from: 1718000000000 }).code).toBe(
      'MALFORMED_MESSAGE',
    );
  });
});

describe('refOf: tie an error to the frame that caused it', () => {
  it('reads the ref of a frame that failed validation', () => {
    expect(refOf('{"type":"subscribe","ref":"r-7","channel":"bad channel"}')).toBe('r-7');
    expect(refOf('{"type":"publish", "ref" : "p1"}')).toBe('p1');
  });

  it('reads only the frame’s own ref, never one inside data, however deep the frame', () => {
    expect(refOf('{"type":"publish","channel":"bad chan","data":{"ref":"p-OTHER"},"ref":"p-MINE"}')).toBe(
      'p-MINE',
    );
    expect(refOf('{"type":"action","name":"x y","data":{"ref":"a-OTHER"}}')).toBeUndefined();
    expect(refOf('{"type":"publish","data":[{"ref":"deep"}]}')).toBeUndefined();
    expect(refOf(`{"ref":"r-deep","type":"publish","data":${'['.repeat(100)}${']'.repeat(100)}}`)).toBe(
      'r-deep',
    );
    expect(refOf('{"type":"publish","ref":"r\\"q"}')).toBe('r"q');
  });

  it('gives up on frames without a usable ref', () => {
    expect(refOf('{"type":"subscribe"}')).toBeUndefined();
    expect(refOf('{"ref":""}')).toBeUndefined();
    expect(refOf(`{"ref":"${'r'.repeat(65)}"}`)).toBeUndefined();
    expect(refOf('{"ref":7}')).toBeUndefined();
    expect(refOf('{"type":"publish","ref":"r1"')).toBeUndefined(); // cut off before it ends
  });
});

describe('event IDs are checked to their real range', () => {
  it.each(['18446744073709551615-18446744073709551615', '0-0', '1-18446744073709551615'])(
    'accepts %s (each part at most 2^64 − 1)',
    (from) => accepts({ type: 'subscribe', channel: 'room:1', from }),
  );

  it.each(['0-99999999999999999999', '18446744073709551616-0', '99999999999999999999-1'])(
    'refuses %s as MALFORMED_MESSAGE naming the range',
    (from) => {
      const error = rejection({ type: 'subscribe', channel: 'room:1', from });
      expect(error.code).toBe('MALFORMED_MESSAGE');
      expect(error.detail).toContain('2^64');
    },
  );

  it('in a resume’s lastEventIds too', () => {
    const error = rejection({
      type: 'hello',
      resume: { sessionId: 's', resumeToken: 'r', lastEventIds: { 'room:1': '0-99999999999999999999' } },
    });
    expect(error.code).toBe('MALFORMED_MESSAGE');
  });
});

describe('nesting depth', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it(`accepts data nested to the limit (${MAX_NESTING_DEPTH} levels, the frame included)`, () => {
    const text = `{"type":"publish","channel":"c","data":${nested(MAX_NESTING_DEPTH - 1)}}`;
    expect(decodeFrame(text).frame.type).toBe('publish');
  });

  it('refuses one level more as MALFORMED_MESSAGE naming the limit, before parsing it', () => {
    const error = rejection(`{"type":"publish","channel":"c","data":${nested(MAX_NESTING_DEPTH)}}`);
    expect(error.code).toBe('MALFORMED_MESSAGE');
    expect(error.detail).toContain(`${MAX_NESTING_DEPTH} levels`);
  });

  it('refuses 30,000 levels (60 KB) the same way, not as a store error', () => {
    expect(rejection(`{"type":"publish","channel":"c","data":${nested(30_000)}}`).code).toBe(
      'MALFORMED_MESSAGE',
    );
  });

  it('counts brackets inside strings as text', () => {
    const text = `{"type":"publish","channel":"c","data":"${'['.repeat(1000)}"}`;
    expect(decodeFrame(text).frame.type).toBe('publish');
  });
});

describe('data as the client wrote it', () => {
  it.each([
    ['numbers beyond double precision', '{"n":12345678901234567890123,"f":1e400}'],
    ['spacing and key order', '{ "b" : [ 1 , 2 ] ,  "a":{} }'],
    ['escapes and non-ASCII', '"caf\\u00e9 \\" ☕ \\n"'],
    ['a literal', 'true'],
    ['null', 'null'],
  ])('keeps %s byte for byte', (_, data) => {
    const text = `{"type":"publish","ref":"r","channel":"c","data":${data}}`;
    expect(decodeFrame(text).dataJson).toBe(data);
  });

  it('takes the last `data` when a frame repeats it, as JSON.parse does', () => {
    const { frame, dataJson } = decodeFrame('{"type":"publish","channel":"c","data":1,"data":[2]}');
    expect(dataJson).toBe('[2]');
    expect((frame as { data: unknown }).data).toEqual([2]);
  });

  it('finds `data` however its name is escaped, and only at the top level', () => {
    expect(decodeFrame('{"type":"publish","channel":"c","d\\u0061ta":{"data":1}}').dataJson).toBe(
      '{"data":1}',
    );
  });

  it('trims the whitespace around the value, not inside it', () => {
    expect(decodeFrame('{"type":"publish","channel":"c","data":  [ 1 ]  }').dataJson).toBe('[ 1 ]');
  });
});
