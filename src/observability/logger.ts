/**
 * pino: JSON lines for machines, pretty when a person watches a terminal.
 * Secrets never reach a log line: tokens, resume tokens, API keys, authorization
 * headers and cookies are redacted wherever they appear in a logged object, at
 * any depth, errors included (secrets.ts has the list). pino's `redact` paths
 * cannot say "at any depth", so a log formatter walks each line's object
 * instead; lines are lifecycle, not traffic, so the walk is cheap enough.
 *
 * Every line logged while a span is active carries its `trace_id` and `span_id`;
 * a per-connection logger (`connectionLogger`) carries its connection's
 * trace even outside any span (socket callbacks), so a log line leads to the trace
 * and the trace's `tether.correlation_id` leads back to every log line.
 */
import { type SpanContext, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';
import { redactSecrets } from './secrets.ts';

export type { Logger };

/** Where a logger bound to a connection keeps that connection's span context. */
const BOUND_SPAN = Symbol('tether.boundSpanContext');

type TraceBoundLogger = Logger & { [BOUND_SPAN]?: SpanContext };

export interface LoggerOptions {
  /** Human-readable output (pino-pretty). @defaultValue true when stdout is a terminal */
  pretty?: boolean;
  /** Where JSON lines go (tests capture them). @defaultValue stdout */
  destination?: DestinationStream;
}

export function createLogger(level: string, nodeId: string, options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY && !options.destination);
  const settings = {
    level,
    base: { node: nodeId },
    formatters: {
      // Runs before pino's serializers: errors are serialized (and redacted) here.
      log: (object: Record<string, unknown>) => redactSecrets(object),
      bindings: (bindings: Record<string, unknown>) => redactSecrets(bindings),
    },
    // An error reaches the `err` serializer already serialized by redactSecrets: keep it as it is.
    serializers: { err: (value: unknown) => value },
    mixin: traceIdsMixin,
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l' } } : undefined,
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/**
 * The logger of one connection: ONE child of the process logger with every
 * binding, whose lines carry `spanContext`'s IDs when no span is active. Rebuilt
 * from the root when a binding changes, never chained: each link of a chain of
 * pino children becomes a prototype with hidden classes of its own, about 2 KB
 * of heap per connection (bench idle-memory).
 */
export function connectionLogger(
  root: Logger,
  bindings: Record<string, string | undefined>,
  spanContext: SpanContext | undefined,
): Logger {
  const child = root.child(bindings) as TraceBoundLogger;
  if (spanContext && trace.isSpanContextValid(spanContext)) child[BOUND_SPAN] = spanContext;
  return child;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A connection's logger that builds its pino child (`connectionLogger`) only for a line
 * the level lets through: a child serializes its bindings when made, and most of a
 * connection's lines (`session ready` at info, `socket closed` at debug) are below a
 * production level (~1 µs and its garbage per line).
 */
export class LazyConnectionLogger {
  constructor(
    private readonly root: Logger,
    private readonly bindings: Record<string, string | undefined>,
    private readonly spanContext: () => SpanContext | undefined,
  ) {}

  debug(object: object, message: string): void {
    this.line('debug', object, message);
  }

  info(object: object, message: string): void {
    this.line('info', object, message);
  }

  warn(object: object, message: string): void {
    this.line('warn', object, message);
  }

  error(object: object, message: string): void {
    this.line('error', object, message);
  }

  private line(level: Level, object: object, message: string): void {
    if (this.root.isLevelEnabled(level))
      connectionLogger(this.root, this.bindings, this.spanContext())[level](object, message);
  }
}

function traceIdsMixin(_merge: object, _level: number, logger: Logger): object {
  const active = trace.getActiveSpan()?.spanContext();
  const ids = active && trace.isSpanContextValid(active) ? active : (logger as TraceBoundLogger)[BOUND_SPAN];
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
