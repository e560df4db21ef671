/**
 * The one way Tether makes an Ajv for its own schemas (TypeBox, in this repo).
 *
 * Ajv checks each schema against the JSON Schema meta-schema before compiling it,
 * and compiles that meta-schema once per instance: about 50 ms of a start each, for
 * seven instances. Development and tests keep the check, so a malformed schema fails
 * there; production (NODE_ENV=production) trusts the schemas those runs checked.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';

export function schemaAjv(options: Options = {}): Ajv {
  return new Ajv({ validateSchema: process.env.NODE_ENV !== 'production', ...options });
}

/**
 * A validator compiled (its Ajv made too) the first time it is called, not when its module
 * loads: a schema only a backend request or a CONFIG_FILE needs costs a start nothing (issue 13:
 * a restart under a reconnect storm; the five control-route bodies, the config file, history
 * and publish were ~0.1 s of CPU of each start). Call it and read `errors` as a compiled one.
 */
export function compiledOnUse<T>(compile: () => ValidateFunction<T>): ValidateFunction<T> {
  let compiled: ValidateFunction<T> | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compile();
    const valid = compiled(data);
    validate.errors = compiled.errors;
    return valid;
  }) as ValidateFunction<T>;
  validate.errors = null;
  return validate;
}

/**
 * Ajv's first error as a person reads it: where (`/` for the top), and what is wrong, naming the
 * property an `additionalProperties` rule refused (Ajv's own message does not).
 */
export function firstProblem(errors: ErrorObject[] | null | undefined): {
  where: string;
  message: string;
  keyword?: string;
} {
  const first = errors?.[0];
  const extra =
    first?.params && 'additionalProperty' in first.params ? ` "${first.params.additionalProperty}"` : '';
  return {
    where: first?.instancePath || '/',
    message: `${first?.message ?? 'invalid'}${extra}`,
    keyword: first?.keyword,
  };
}
