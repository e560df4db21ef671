/**
 * Inbound frames: JSON text → a validated `ClientFrame`, or a TetherError saying
 * exactly what was wrong. Validators are compiled once from the shared schemas
 * (Ajv generates code; no hand-written checks on the hot path).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { TetherError } from '../core/tether-error.ts';
import { type ClientFrame, ClientFrameSchemas, type ClientFrameType } from '../shared/frames.ts';

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = Object.fromEntries(
  Object.entries(ClientFrameSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<ClientFrameType, ValidateFunction<ClientFrame>>;

export function decodeFrame(text: string): ClientFrame {
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
  if (!Object.hasOwn(validators, type)) {
    throw new TetherError('UNKNOWN_FRAME_TYPE', { detail: `unknown type "${type.slice(0, 32)}"` });
  }
  const validate = validators[type as ClientFrameType];
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath || '/';
    const extra =
      first?.params && 'additionalProperty' in first.params ? ` "${first.params.additionalProperty}"` : '';
    throw new TetherError('MALFORMED_MESSAGE', {
      detail: `${type}${where}: ${first?.message ?? 'invalid'}${extra}`,
    });
  }
  return value;
}

/** The `ref` of a frame that failed validation, when one can be read, to tie the error to it. */
export function refOf(text: string): string | undefined {
  const match = /"ref"\s*:\s*"([^"\\]{1,64})"/.exec(text);
  return match?.[1];
}
