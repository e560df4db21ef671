/**
 * The one reader of HTTP query strings (history, presence, cleanup), strict on purpose: each
 * parameter has a rule, and anything else is refused with the reason — a parameter the route does
 * not know, one given twice, an integer that is not plain decimal digits (`Number()` would read
 * `0x10`, `1e1`, `+5`, ` 5 ` and `5.0`), a boolean not spelt as documented. A typo must not pass
 * for the default: `POST /ws/cleanup?dryRun=ture` once ran the real cleanup.
 */

/** How one parameter's text reads (undefined: refused); `rule` says what it may be, for the 400. */
export interface QueryParam<V> {
  readonly rule: string;
  read(text: string): V | undefined;
}

/** Up to 15 digits: every such number is a safe integer, and no bound here is longer. */
const DIGITS = /^[0-9]{1,15}$/;

export function integerParam(minimum: number, maximum: number): QueryParam<number> {
  return {
    rule: `an integer from ${minimum} to ${maximum}`,
    read: (text) => {
      const value = DIGITS.test(text) ? Number(text) : Number.NaN;
      return value >= minimum && value <= maximum ? value : undefined;
    },
  };
}

const BOOLEANS = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['false', false],
  ['0', false],
  ['no', false],
]);

export const booleanParam: QueryParam<boolean> = {
  rule: 'true or false (or 1 / 0, yes / no)',
  read: (text) => BOOLEANS.get(text),
};

/** Text that `accepts` (a pattern, or the one test of an identifier such as `isEventId`). */
export function textParam(rule: string, accepts: string | ((text: string) => boolean)): QueryParam<string> {
  const pattern = typeof accepts === 'string' ? new RegExp(accepts) : undefined;
  const test = pattern ? (text: string) => pattern.test(text) : (accepts as (text: string) => boolean);
  return { rule, read: (text) => (test(text) ? text : undefined) };
}

export type QueryValues<P> = { [K in keyof P]?: P[K] extends QueryParam<infer V> ? V : never };

/** The values of `query` (without its `?`) by `params`, or why it is refused (naming the parameter). */
export function parseQuery<P extends Record<string, QueryParam<unknown>>>(
  query: string,
  params: P,
): { values: QueryValues<P> } | { problem: string } {
  const values: Record<string, unknown> = {};
  const pairs = decodedPairs(query);
  if (!Array.isArray(pairs)) return pairs;
  for (const [name, text] of pairs) {
    const param = Object.hasOwn(params, name) ? params[name] : undefined;
    if (!param)
      return {
        problem: `unknown parameter ${JSON.stringify(name.slice(0, 64))} (allowed: ${Object.keys(params).join(', ') || 'none'})`,
      };
    if (Object.hasOwn(values, name)) return { problem: `${name}: given more than once` };
    const value = param.read(text);
    if (value === undefined)
      return { problem: `${name}: must be ${param.rule} (got ${JSON.stringify(text.slice(0, 64))})` };
    values[name] = value;
  }
  return { values: values as QueryValues<P> };
}

/**
 * The query's name/value pairs, decoded as a form (`+` is a space), in order; empty pairs skipped.
 * Not URLSearchParams: it reads a `%` escape that is not UTF-8 as U+FFFD and a broken one (`%ZZ`)
 * as itself, so a mistyped value would pass for another (the uWS edge decodes those its own way).
 */
function decodedPairs(query: string): [string, string][] | { problem: string } {
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      pairs.push([
        formDecode(eq < 0 ? part : part.slice(0, eq)),
        eq < 0 ? '' : formDecode(part.slice(eq + 1)),
      ]);
    } catch {
      return { problem: `${JSON.stringify(part.slice(0, 64))}: not valid percent-encoded UTF-8` };
    }
  }
  return pairs;
}

const formDecode = (text: string) => decodeURIComponent(text.replaceAll('+', ' '));
