/**
 * What counts as a secret wherever Tether shows an object to a person: log lines
 * (logger.ts), actor context in `GET /connections/:id` (connection-snapshot.ts)
 * and in live inspection (live-inspector.ts). One list, matched by key name at
 * any depth, so a secret nested in a frame, a header map or an error's request
 * config (`err.config.headers.authorization`) is caught like a top-level one.
 */
import { stdSerializers } from 'pino';

/**
 * Keys whose values are credentials: tokens (`token`, `resumeToken`), API keys
 * (`apiKey`, `adminApiKey`, `publishApiKeys`, `x-api-key`), `authorization` and
 * `proxy-authorization`, cookies (`cookie`, `set-cookie`), secrets, passwords and
 * private keys.
 */
const SECRET_KEY = /token|secret|passw(or)?d|api[-_]?keys?|authorization|cookie|private[-_]?key/i;
/**
 * Keys that name a time or a count about a credential, not the credential: `tokenExpiresAt`
 * and `tokenIssuedAt` (what a 4002 or a 4005 close is diagnosed from), `tokensRevokedBefore`,
 * `refreshInMs`. Hiding them hid nothing and left those closes unexplained.
 */
const ABOUT_A_SECRET = /(?:At|Before|After|Ms|Count)$|_(?:at|ms|count)$/;

export const REDACTED = '[redacted]';

/** Past this depth objects are left as they are (pino's serializer bounds output size). */
const MAX_DEPTH = 10;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !ABOUT_A_SECRET.test(key);
}

/**
 * `value` with every secret key's value replaced by `censor`, at any depth, in
 * plain objects, arrays and errors (an Error becomes pino's serialized form, so
 * its enumerable fields are checked too). Returns `value` itself when nothing
 * had to change — the common case costs one walk and no copy — and never
 * modifies it.
 */
export function redactSecrets<T>(value: T, censor: unknown = REDACTED): T {
  return clean(value, 0, new Set(), censor) as T;
}

/** `open`: the objects on the path from the root, to cut cycles (a cycle would lead back to the original). */
function clean(value: unknown, depth: number, open: Set<object>, censor: unknown): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (open.has(value)) return '[Circular]';
  open.add(value);
  try {
    return cleanObject(value, depth, open, censor);
  } finally {
    open.delete(value);
  }
}

function cleanObject(value: object, depth: number, open: Set<object>, censor: unknown): unknown {
  if (value instanceof Error) {
    // pino's own err serializer (type, message, stack, causes, enumerable fields), as a plain object.
    const serialized: Record<string, unknown> = { ...stdSerializers.err(value) };
    return cleanObject(serialized, depth, open, censor);
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const cleaned = clean(item, depth + 1, open, censor);
      if (cleaned === item) return;
      copy ??= [...value];
      copy[index] = cleaned;
    });
    return copy ?? value;
  }
  // Dates, Buffers, URLs and the like serialize themselves, without nested keys.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const cleaned = item !== undefined && isSecretKey(key) ? censor : clean(item, depth + 1, open, censor);
    if (cleaned === item) continue;
    copy ??= { ...value };
    copy[key] = cleaned;
  }
  return copy ?? value;
}
