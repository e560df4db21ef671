/**
 * Renders the error registry (src/shared/errors.ts) into docs/errors.md, so the
 * reference a client author reads is the registry the gateway sends from.
 *
 * Run: `npm run docs:errors`. test/unit/error-docs.test.ts fails when the file
 * is stale, so a registry change without a regenerated doc does not pass CI.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorFrame } from '../src/core/tether-error.ts';
import { ERRORS, type ErrorCategory, type ErrorSpec } from '../src/shared/errors.ts';

export const ERROR_DOCS_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

const CATEGORIES: Record<ErrorCategory, string> = {
  connection: 'the connection as a whole: handshake, authentication, admission, the session and its resume.',
  client: 'the client broke a protocol rule: frame shape, size, rate, order.',
  event:
    'one request (a subscribe, publish or action, named by its `ref`) could not be carried out; the connection is fine.',
  system: 'the gateway or its event store is overloaded, restarting or failing; almost always retryable.',
};

/**
 * Names of the standard close codes (RFC 6455 §7.4.1; 1012–1014 from IANA's WebSocket Close Code
 * Number registry). Codes 4000–4999 are the application's own: Tether's.
 */
const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'Normal Closure',
  1001: 'Going Away',
  1002: 'Protocol Error',
  1003: 'Unsupported Data',
  1007: 'Invalid Frame Payload Data',
  1008: 'Policy Violation',
  1009: 'Message Too Big',
  1011: 'Internal Error',
  1012: 'Service Restart',
  1013: 'Try Again Later',
  1014: 'Bad Gateway',
};

/** A markdown table cell: no line breaks, no column breaks, no stray HTML. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly string[][]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function closeCodeName(code: number): string {
  const name = CLOSE_CODE_NAMES[code];
  if (name) return name;
  if (code >= 4000 && code <= 4999) return 'Tether-specific (4000–4999)';
  // Below 4000 a code is the standard's (or a library's, 3000–3999), never Tether's: name it above.
  throw new Error(`close code ${code} has no name: add it to CLOSE_CODE_NAMES`);
}

export function renderErrorDocs(registry: Readonly<Record<string, ErrorSpec>> = ERRORS): string {
  const order = Object.keys(CATEGORIES) as ErrorCategory[];
  const entries = Object.entries(registry).sort(
    ([, a], [, b]) => order.indexOf(a.category) - order.indexOf(b.category),
  );
  // The example shows the frame format, so it comes from the real registry whatever is rendered.
  const example = errorFrame('FORBIDDEN_CHANNEL', '5f0c6a1e-8d1b-4f7e-9a55-2f4d1c0b7e21', {
    ref: 'sub-2',
    detail: 'billing:eu',
  });

  const byCloseCode = new Map<number, string[]>();
  for (const [code, spec] of entries) {
    if (spec.closeCode === undefined) continue;
    byCloseCode.set(spec.closeCode, [...(byCloseCode.get(spec.closeCode) ?? []), code]);
  }

  return [
    '# Errors',
    '',
    '<!-- GENERATED from src/shared/errors.ts by scripts/gen-error-docs.ts. Do not edit by hand: run `npm run docs:errors`. -->',
    '',
    'Every error Tether reports to a client has a stable **code** from one registry',
    '(`src/shared/errors.ts`), shared by the gateway and the client SDK. Codes are API and do not change;',
    'messages may be improved, so match on `code`, never on `message`. The wire format is in',
    '[protocol.md](protocol.md#66-error).',
    '',
    'An error reaches the client as an `error` frame. It always carries the connection’s `correlationId`',
    '(quote it when reporting a problem), `ref` when the error answers a frame that had one, and `detail`',
    'when there is something specific to say:',
    '',
    '```json',
    JSON.stringify(example),
    '```',
    '',
    '## Categories',
    '',
    ...order.map((category) => `- **${category}** — ${CATEGORIES[category]}`),
    '',
    '## How a client should react',
    '',
    '1. **No close code** (— in the table): only the frame named by `ref` failed. The connection, its',
    '   session and its subscriptions carry on. If `retryable`, send the frame again after `retryAfterMs`;',
    '   if not, change it as *What to do* says — sending it again unchanged fails the same way.',
    '   Errors about the resume part of `hello` (`RESUME_EXPIRED`, `RESUME_REJECTED`, `FORBIDDEN_CHANNEL`',
    '   for a dropped channel; no `ref`) come before `welcome`, and the connection goes on too.',
    '   **Except before `welcome`:** when such an error ends the handshake itself — `STORE_UNAVAILABLE`',
    '   when Redis is unreachable at `hello` or during the admission wait, since no session can exist',
    '   without it, or when it cuts a replay short after `welcome` (a subscribe from a position, a',
    '   resume) — the gateway sends the frame, then closes with `1011` (Internal Error) and the code as',
    '   the close reason. Reconnect after `retryAfterMs`, as for a retryable close below.',
    '2. **With a close code**: the gateway sends the `error` frame, then closes the WebSocket with that code;',
    '   the close reason is the error code (e.g. `1013 SERVER_BUSY`), so a client that missed the frame still',
    '   knows why.',
    '   - `retryable: true` — reconnect after the frame’s `retryAfterMs` (when many clients are turned away',
    '     at once — admission refusals, restarts, shedding — the gateway jitters it ±50 % per client, so use',
    '     the frame’s value rather than the default below), or with full-jitter exponential backoff when',
    '     absent. Present the resume token in `hello` to resume the session: nothing published meanwhile',
    '     is lost.',
    '   - `retryable: false` — do not reconnect with the same input. Fix what *What to do* says first',
    '     (for example, get a new token). The events are not lost either: a new session can re-subscribe',
    '     with `from` = the last event ID it processed.',
    '3. **A close without an `error` frame**: `4008 SLOW_CONSUMER` is sent without a frame (the outbound',
    '   buffer is what is full); `1000` follows your own `bye`; `1006` (abnormal closure, no close frame)',
    '   means the network dropped, the heartbeat timed out or the process died — or the WebSocket layer',
    '   cut a frame it would not read: over 4× `maxMessageBytes` (`MESSAGE_TOO_LARGE`), or, on the uWS',
    '   edge, not valid UTF-8 (`INVALID_UTF8`); the gateway logs and counts those codes. Treat 1006 as',
    '   retryable: reconnect with backoff and resume (and fix the frame that was cut).',
    '',
    '## Close codes',
    '',
    ...table(
      ['Close code', 'Meaning', 'Error codes'],
      [...byCloseCode.entries()]
        .sort(([a], [b]) => a - b)
        .map(([closeCode, codes]) => [
          String(closeCode),
          closeCodeName(closeCode),
          codes.map((c) => `\`${c}\``).join(', '),
        ]),
    ),
    '',
    'Codes outside the registry: `1000` (normal closure, after `bye`) and `1006` (abnormal closure, seen',
    'by the client when the connection drops without a close frame).',
    '',
    '## All codes',
    '',
    '*retryAfterMs* is the default wait; an `error` frame may carry a different (jittered) value, which wins.',
    '',
    ...table(
      ['Code', 'Category', 'Close code', 'Retryable', 'retryAfterMs', 'Message', 'What to do'],
      entries.map(([code, spec]) => [
        `\`${code}\``,
        spec.category,
        spec.closeCode === undefined ? '—' : String(spec.closeCode),
        spec.retryable ? 'yes' : 'no',
        spec.retryAfterMs === undefined ? '—' : String(spec.retryAfterMs),
        cell(spec.message),
        cell(spec.recovery),
      ]),
    ),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(ERROR_DOCS_PATH, renderErrorDocs());
  process.stdout.write(`wrote ${ERROR_DOCS_PATH} (${Object.keys(ERRORS).length} codes)\n`);
}
