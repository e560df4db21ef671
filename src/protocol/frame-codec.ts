/**
 * Inbound frames: JSON text → a validated `ClientFrame`, or a TetherError saying
 * exactly what was wrong. Validators are compiled once (on first use) from the shared schemas
 * (Ajv generates code; no hand-written checks on the hot path). A frame nested
 * deeper than MAX_NESTING_DEPTH is refused before it is parsed, and a frame's
 * `data` comes back as the client's own JSON text too (json-scan.ts).
 */
import type { Ajv, ValidateFunction } from 'ajv';
import { TetherError } from '../core/tether-error.ts';
import { firstProblem, schemaAjv } from '../shared/ajv.ts';
import {
  type ClientFrame,
  ClientFrameSchemas,
  type ClientFrameType,
  isEventId,
  MAX_NESTING_DEPTH,
} from '../shared/frames.ts';
import { scanFrame } from './json-scan.ts';

/** An Ajv that knows the protocol's formats: compile every schema of src/shared/frames.ts with it. */
export function protocolAjv(): Ajv {
  const ajv = schemaAjv({ allErrors: false, strict: true });
  ajv.addFormat('event-id', { type: 'string', validate: isEventId });
  return ajv;
}

/**
 * Each type's validator is compiled when the first frame of that type arrives, not when the
 * module loads: a start compiles none (issue 13: a restart under a reconnect storm), and a
 * process compiles only the types its clients send. After that it is a plain lookup that
 * hands back Ajv's own function: not `compiledOnUse` (src/shared/ajv.ts), whose wrapper
 * would add a call and an `errors` copy to every inbound frame.
 */
let ajv: Ajv | undefined;
const validators: Partial<Record<ClientFrameType, ValidateFunction<ClientFrame>>> = {};
const validatorOf = (type: ClientFrameType): ValidateFunction<ClientFrame> => {
  let validate = validators[type];
  if (!validate) {
    ajv ??= protocolAjv();
    validate = ajv.compile<ClientFrame>(ClientFrameSchemas[type]);
    validators[type] = validate;
  }
  return validate;
};

export interface DecodedFrame {
  frame: ClientFrame;
  /** The top-level `data` member's JSON text, exactly as the client wrote it. */
  dataJson?: string;
}

export function decodeFrame(text: string): DecodedFrame {
  const scan = scanFrame(text, MAX_NESTING_DEPTH);
  if (!scan) throw tooDeep();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TetherError('MALFORMED_MESSAGE', { cause: error, detail: 'not valid JSON' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TetherError('MALFORMED_MESSAGE', { detail: 'a frame must be a JSON object' });
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string')
    throw new TetherError('MALFORMED_MESSAGE', { detail: 'missing string field "type"' });
  if (!Object.hasOwn(ClientFrameSchemas, type)) {
    throw new TetherError('UNKNOWN_FRAME_TYPE', { detail: `unknown type "${type.slice(0, 32)}"` });
  }
  const validate = validatorOf(type as ClientFrameType);
  if (!validate(value)) {
    const problem = firstProblem(validate.errors);
    const message =
      problem.keyword === 'format' ? 'must be an event ID, each part at most 2^64 − 1' : problem.message;
    throw new TetherError('MALFORMED_MESSAGE', { detail: `${type}${problem.where}: ${message}` });
  }
  return { frame: value, dataJson: scan.data ? text.slice(scan.data[0], scan.data[1]) : undefined };
}

/** The top-level `data` member of a JSON body (POST /publish) as written, or a TetherError. */
export function dataJsonOf(text: string): string | undefined {
  const scan = scanFrame(text, MAX_NESTING_DEPTH);
  if (!scan) throw tooDeep();
  return scan.data ? text.slice(scan.data[0], scan.data[1]) : undefined;
}

function tooDeep(): TetherError {
  return new TetherError('MALFORMED_MESSAGE', {
    detail: `nested deeper than ${MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH)`,
  });
}

/**
 * The top-level `ref` of a frame that failed validation, when it is a string a ref may be
 * (1–64 characters), to tie the error to it. Only the frame's own member: a `ref` inside
 * `data` belongs to the application, and echoing it would answer another request. Any
 * depth is walked (the scan does not recurse), so a frame refused as too deep keeps its ref.
 */
export function refOf(text: string): string | undefined {
  const span = scanFrame(text, Number.POSITIVE_INFINITY, 'ref')?.data;
  if (!span) return undefined;
  try {
    const ref: unknown = JSON.parse(text.slice(span[0], span[1]));
    return typeof ref === 'string' && ref.length >= 1 && ref.length <= 64 ? ref : undefined;
  } catch {
    return undefined; // not a complete JSON value: the text was malformed there
  }
}
