/**
 * The one way Tether makes an Ajv for its own schemas (TypeBox, in this repo).
 *
 * Ajv checks each schema against the JSON Schema meta-schema before compiling it,
 * and compiles that meta-schema once per instance: about 50 ms of a start each, for
 * seven instances. Development and tests keep the check, so a malformed schema fails
 * there; production (NODE_ENV=production) trusts the schemas those runs checked.
 */
import { Ajv, type Options } from 'ajv';

export function schemaAjv(options: Options = {}): Ajv {
  return new Ajv({ validateSchema: process.env.NODE_ENV !== 'production', ...options });
}
