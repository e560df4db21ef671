/**
 * Properties of src/protocol/frame-codec.ts over generated frames: every valid frame
 * decodes to itself (channel names that are JavaScript object keys included), every
 * invalid input is a coded TetherError and nothing else, and a frame with one field
 * broken is refused naming that field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../src/core/tether-error.ts';
import { decodeFrame, refOf } from '../../src/protocol/frame-codec.ts';
import { CORRELATION_ID_PATTERN } from '../../src/shared/identifiers.ts';

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-';
/** Names a naive `{}` lookup would find on Object.prototype. */
const OBJECT_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'];
const name = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 128 }),
  fc.constantFrom(...OBJECT_KEYS),
);
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const eventId = fc.tuple(u64, u64).map(([ms, seq]) => `${ms}-${seq}`);
const ref = fc.string({ minLength: 1, maxLength: 64 });
const shortText = fc.string({ maxLength: 256 });
const data = fc.jsonValue({ maxDepth: 4 });
/** Object.fromEntries keeps a `__proto__` entry as an own key, as JSON.parse does. */
const record = <T>(keys: fc.Arbitrary<string>, values: fc.Arbitrary<T>) =>
  fc.array(fc.tuple(keys, values), { maxLength: 6 }).map((entries) => Object.fromEntries(entries));

const validFrame = fc.oneof(
  fc.record(
    {
      type: fc.constant('hello'),
      token: fc.string({ maxLength: 200 }),
      correlationId: fc.stringMatching(new RegExp(CORRELATION_ID_PATTERN)),
      traceparent: shortText,
      resume: fc.record(
        {
          sessionId: fc.string({ minLength: 1, maxLength: 64 }),
          resumeToken: fc.string({ minLength: 1, maxLength: 128 }),
          lastEventIds: record(name, eventId),
        },
        { requiredKeys: ['sessionId', 'resumeToken'] },
      ),
      client: fc.record({ name: shortText, version: shortText }, { requiredKeys: [] }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('subscribe'), channel: name, from: eventId, ref },
    { requiredKeys: ['type', 'channel'] },
  ),
  fc.record({ type: fc.constant('unsubscribe'), channel: name, ref }, { requiredKeys: ['type', 'channel'] }),
  fc.record(
    { type: fc.constant('publish'), channel: name, data, ref },
    { requiredKeys: ['type', 'channel', 'data'] },
  ),
  fc.record({ type: fc.constant('action'), ref, name, data }, { requiredKeys: ['type', 'ref', 'name'] }),
  fc.record(
    { type: fc.constant('ping'), ts: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    {
      requiredKeys: ['type'],
    },
  ),
  fc.record({ type: fc.constant('bye'), reason: shortText }, { requiredKeys: ['type'] }),
);

/** Fields that must be strings, per frame type (`data` is free-form, `ts` a number). */
const STRING_FIELDS: Record<string, string[]> = {
  hello: ['token', 'correlationId', 'traceparent'],
  subscribe: ['channel', 'from', 'ref'],
  unsubscribe: ['channel', 'ref'],
  publish: ['channel', 'ref'],
  action: ['ref', 'name'],
  bye: ['reason'],
};
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

function decodeOrError(text: string): unknown {
  try {
    return decodeFrame(text).frame;
  } catch (error) {
    return error;
  }
}

describe('valid frames', () => {
  it('decode to exactly what was sent, for every frame type', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        expect(decodeFrame(JSON.stringify(frame)).frame).toEqual(JSON.parse(JSON.stringify(frame)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('invalid input', () => {
  const anyText = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
    validFrame.map((f) => JSON.stringify(f).slice(0, -1)), // cut short
    fc.tuple(validFrame, fc.nat(), fc.string({ maxLength: 3 })).map(([f, at, s]) => {
      const text = JSON.stringify(f);
      const i = at % text.length;
      return text.slice(0, i) + s + text.slice(i + 1); // one character replaced
    }),
  );

  it('is either a valid frame or a TetherError coded MALFORMED_MESSAGE / UNKNOWN_FRAME_TYPE', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const result = decodeOrError(text);
        if (result instanceof Error) {
          expect(result).toBeInstanceOf(TetherError);
          expect(['MALFORMED_MESSAGE', 'UNKNOWN_FRAME_TYPE']).toContain((result as TetherError).code);
        } else {
          expect(typeof (result as { type: unknown }).type).toBe('string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a frame with one string field given another JSON type is refused naming that field', () => {
    const broken = fc
      .tuple(validFrame, fc.nat(), notAString)
      .filter(([frame]) => (STRING_FIELDS[frame.type] ?? []).length > 0)
      .map(([frame, pick, value]) => {
        const fields = STRING_FIELDS[frame.type]!;
        const field = fields[pick % fields.length]!;
        return { text: JSON.stringify({ ...frame, [field]: value }), where: `${frame.type}/${field}` };
      });
    fc.assert(
      fc.property(broken, ({ text, where }) => {
        const error = decodeOrError(text) as TetherError;
        expect(error).toBeInstanceOf(TetherError);
        expect(error.code).toBe('MALFORMED_MESSAGE');
        expect(error.detail).toContain(where);
      }),
    );
  });

  it('an unknown field, object-key names included, is refused naming it', () => {
    const extraName = fc
      .oneof(fc.constantFrom(...OBJECT_KEYS), fc.string({ minLength: 1, maxLength: 10 }))
      .filter((key) => !['type', 'token', 'correlationId', 'traceparent', 'resume', 'client'].includes(key))
      .filter((key) => !['channel', 'from', 'ref', 'data', 'name', 'ts', 'reason'].includes(key));
    fc.assert(
      fc.property(validFrame, extraName, fc.jsonValue({ maxDepth: 1 }), (frame, key, value) => {
        const text = JSON.stringify(Object.fromEntries([...Object.entries(frame), [key, value]]));
        const error = decodeOrError(text) as TetherError;
        expect(error).toBeInstanceOf(TetherError);
        expect(error.code).toBe('MALFORMED_MESSAGE');
        expect(error.detail).toContain(`"${key}"`);
      }),
    );
  });

  it('a non-string type is MALFORMED_MESSAGE; any unknown string type is UNKNOWN_FRAME_TYPE', () => {
    const known = ['hello', 'subscribe', 'unsubscribe', 'publish', 'action', 'ping', 'bye'];
    fc.assert(
      fc.property(
        fc.oneof(
          notAString,
          fc.string().filter((t) => !known.includes(t)),
        ),
        (type) => {
          const error = decodeOrError(JSON.stringify({ type })) as TetherError;
          expect(error.code).toBe(typeof type === 'string' ? 'UNKNOWN_FRAME_TYPE' : 'MALFORMED_MESSAGE');
        },
      ),
    );
  });
});

describe('refOf', () => {
  it('reads back any ref of 1–64 characters JSON writes, escaped or not, wherever it sits in the frame', () => {
    fc.assert(
      fc.property(validFrame, ref, fc.boolean(), (frame, r, first) => {
        const { ref: _dropped, ...rest } = frame as { ref?: string };
        const text = JSON.stringify(first ? { ref: r, ...rest } : { ...rest, ref: r });
        expect(refOf(text)).toBe(r);
      }),
    );
  });

  it('returns the frame’s own ref as JSON reads it, of 1–64 characters, or nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const text = `{"ref":"${s}"}`;
        const found = refOf(text);
        if (found === undefined) return;
        expect(found.length).toBeGreaterThanOrEqual(1);
        expect(found.length).toBeLessThanOrEqual(64);
        expect(found).toBe(refAsJsonReadsIt(text));
      }),
    );
  });
});

/**
 * The ref JSON reads from `{"ref":"…` — from the whole frame when it is JSON; when it is
 * not (`{"ref":" ",}`: the refusal refOf serves), from the string literal the frame starts
 * with, which is what the client wrote as its ref.
 */
function refAsJsonReadsIt(text: string): unknown {
  try {
    return (JSON.parse(text) as { ref: unknown }).ref;
  } catch {
    const value = text.slice('{"ref":'.length);
    for (let end = 2; end <= value.length; end++) {
      try {
        return JSON.parse(value.slice(0, end));
      } catch {}
    }
    return undefined;
  }
}
