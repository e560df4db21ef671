/**
 * The trace of one socket. Span tree (names and attributes: docs/observability.md):
 *
 *   ws.connection (SERVER)   upgrade → socket close; actor transitions and errors as events
 *   ├─ ws.upgrade            upgrade → welcome: the time until the client could use it
 *   │  └─ ws.handshake       hello → welcome (token check, limits)
 *   │     ├─ ws.admission    the pool's decision, including any wait in the queue
 *   │     └─ session.resume  re-attaching a session and replaying what it missed
 *   └─ ws.action …           work the connection started later (see frame handlers)
 *
 * The spans are created when hello arrives, with their start time set back to the
 * upgrade: a browser cannot send a `traceparent` header on a WebSocket upgrade,
 * so the caller's trace may only be known from the hello frame. Events seen before
 * that are buffered and replayed with their original timestamps.
 *
 * The caller's trace context (`traceparent` and `tracestate`, from the upgrade
 * headers or hello) is not trusted by default: any client could send a sampled
 * `traceparent` and force its connection, actions and worker spans past the
 * sampler. With `link` (TRACE_CLIENT_CONTEXT's default) `ws.connection` starts a
 * trace of its own, sampled by our sampler, with a span link to the caller's
 * span; with `continue` (trusted clients) it is a child of the caller's span
 * and follows the caller's sampled flag.
 *
 * When tracing is off, `connectionTrace()` returns a shared no-op: no allocation
 * per connection beyond the reference.
 */
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLOSE_CODE,
  ATTR_CLOSE_REASON,
  ATTR_CONNECTION_ID,
  ATTR_CORRELATION_ID,
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_URL_PATH,
  ATTR_USER_AGENT_ORIGINAL,
} from './span-attributes.ts';
import {
  contextFromTraceparent,
  SpanKind,
  tracer,
  type WithSpanOptions,
  withCorrelationId,
  withSpan,
} from './trace-context.ts';
import { isTracingEnabled } from './tracing.ts';

/**
 * What a client's trace context does (TRACE_CLIENT_CONTEXT): `link` starts a new
 * trace linked to it, `continue` joins it (and its sampling decision).
 */
export type ClientTraceContext = 'link' | 'continue';

export interface ConnectionTraceInfo {
  connectionId: string;
  /** The socket's direct peer (`network.peer.address`): a proxy, when there is one. */
  peerAddress: string;
  /** The client behind a trusted proxy's X-Forwarded-For (`client.address`). @defaultValue peerAddress */
  clientAddress?: string;
  userAgent: string;
  /** The upgrade request's `traceparent` header, if any (it wins over hello's). */
  traceparent?: string;
  /** The upgrade request's `tracestate` header, carried with its `traceparent`. */
  tracestate?: string;
}

export interface ConnectionTrace {
  /** Context for work done on behalf of this connection (its spans' parent). */
  readonly context: Context;
  /** The `ws.connection` span's IDs once started (for log lines outside any span). */
  readonly spanContext: SpanContext | undefined;
  /** Before hello: how to treat the client's trace context. @defaultValue 'link' */
  useClientContext(policy: ClientTraceContext): void;
  /** hello arrived: open the spans (idempotent). */
  start(correlationId: string, helloTraceparent?: string, helloTracestate?: string): void;
  /** A point in the connection's life (a state transition, an error). */
  event(name: string, attributes?: Attributes): void;
  /** Run `fn` in a child span: of the active span if it is this connection's, else of `ws.connection` (`ws.upgrade` until welcome). */
  span<T>(name: string, options: WithSpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T>;
  /** welcome was sent: `ws.upgrade` ends. */
  ready(attributes: Attributes): void;
  /** The socket closed: everything still open ends. */
  closed(closeCode: number, reason: string | undefined): void;
}

/** Events kept from before hello or after close (the SDK's own limit applies to spans). */
const MAX_PENDING_EVENTS = 32;

type PendingEvent = [name: string, attributes: Attributes | undefined, at: number];

class RecordingConnectionTrace implements ConnectionTrace {
  /** performance.now() at the upgrade: span times given as numbers below the time origin are read this way. */
  private readonly openedAt = performance.now();
  private connection: Span | undefined;
  private upgrade: Span | undefined;
  private root: Context = ROOT_CONTEXT;
  private upgradeContext: Context = ROOT_CONTEXT;
  private pending: PendingEvent[] = [];
  private finished = false;
  private clientContext: ClientTraceContext = 'link';

  constructor(
    private readonly info: ConnectionTraceInfo,
    private correlationId: string,
  ) {}

  get context(): Context {
    return this.upgrade ? this.upgradeContext : this.root;
  }

  get spanContext(): SpanContext | undefined {
    return this.connection?.spanContext();
  }

  useClientContext(policy: ClientTraceContext): void {
    this.clientContext = policy;
  }

  start(correlationId: string, helloTraceparent?: string, helloTracestate?: string): void {
    if (this.connection) return;
    this.correlationId = correlationId;
    const fromHeader = this.info.traceparent !== undefined;
    const client = contextFromTraceparent(
      fromHeader ? this.info.traceparent : helloTraceparent,
      ROOT_CONTEXT,
      fromHeader ? this.info.tracestate : helloTracestate,
    );
    const clientSpan = trace.getSpanContext(client);
    const continued = this.clientContext === 'continue';
    const parent = withCorrelationId(continued ? client : ROOT_CONTEXT, correlationId);
    this.connection = tracer.startSpan(
      'ws.connection',
      {
        kind: SpanKind.SERVER,
        startTime: this.openedAt,
        links: !continued && clientSpan ? [{ context: clientSpan }] : undefined,
        attributes: {
          [ATTR_CORRELATION_ID]: correlationId,
          [ATTR_CONNECTION_ID]: this.info.connectionId,
          [ATTR_NETWORK_PEER_ADDRESS]: this.info.peerAddress,
          [ATTR_CLIENT_ADDRESS]: this.info.clientAddress ?? this.info.peerAddress,
          [ATTR_USER_AGENT_ORIGINAL]: this.info.userAgent,
          [ATTR_NETWORK_PROTOCOL_NAME]: 'websocket',
          [ATTR_URL_PATH]: '/ws',
        },
      },
      parent,
    );
    this.root = trace.setSpan(parent, this.connection);
    this.upgrade = tracer.startSpan(
      'ws.upgrade',
      { startTime: this.openedAt, attributes: { [ATTR_CORRELATION_ID]: correlationId } },
      this.root,
    );
    this.upgradeContext = trace.setSpan(this.root, this.upgrade);
    for (const [name, attributes, at] of this.pending) this.connection.addEvent(name, attributes, at);
    this.pending = [];
  }

  event(name: string, attributes?: Attributes): void {
    const at = performance.now();
    if (this.connection && !this.finished) {
      this.connection.addEvent(name, attributes, at);
      return;
    }
    if (!this.finished) {
      if (this.pending.length < MAX_PENDING_EVENTS) this.pending.push([name, attributes, at]);
      return;
    }
    // After the socket closed the session may still change (resume window expired,
    // resumed elsewhere): a zero-length span keeps that in the same trace.
    const span = tracer.startSpan('session.transition', { startTime: at, attributes }, this.root);
    span.addEvent(name, attributes, at);
    span.end(at);
  }

  span<T>(name: string, options: WithSpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
    return withSpan(
      name,
      {
        ...options,
        parent: options.parent ?? this.parentForChild(),
        attributes: { [ATTR_CORRELATION_ID]: this.correlationId, ...options.attributes },
      },
      fn,
    );
  }

  /** The active span when it is one of ours (nesting inside ws.handshake), else ours. */
  private parentForChild(): Context {
    const active = context.active();
    const activeTrace = trace.getSpanContext(active)?.traceId;
    return activeTrace !== undefined && activeTrace === this.connection?.spanContext().traceId
      ? active
      : this.context;
  }

  ready(attributes: Attributes): void {
    this.connection?.setAttributes(attributes);
    this.upgrade?.end();
    this.upgrade = undefined;
  }

  closed(closeCode: number, reason: string | undefined): void {
    if (this.finished) return;
    if (!this.connection) this.start(this.correlationId);
    const span = this.connection as Span;
    const attributes = { [ATTR_CLOSE_CODE]: closeCode, ...(reason ? { [ATTR_CLOSE_REASON]: reason } : {}) };
    span.addEvent('ws.closed', attributes);
    span.setAttributes(attributes);
    if (this.upgrade) {
      // Closed before welcome: the connection never became usable.
      const why = reason && reason !== 'bye' ? reason : `closed ${closeCode} before welcome`;
      this.upgrade.setAttribute(ATTR_ERROR_TYPE, why);
      this.upgrade.setStatus({ code: SpanStatusCode.ERROR, message: why });
      this.upgrade.end();
      this.upgrade = undefined;
      if (reason && reason !== 'bye') span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    }
    span.end();
    this.finished = true;
  }
}

const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

const NOOP: ConnectionTrace = {
  context: ROOT_CONTEXT,
  spanContext: undefined,
  useClientContext: () => {},
  start: () => {},
  event: () => {},
  span: async (_name, _options, fn) => fn(NON_RECORDING_SPAN),
  ready: () => {},
  closed: () => {},
};

/** The trace of a socket that was just upgraded; a shared no-op when tracing is off. */
export function connectionTrace(info: ConnectionTraceInfo, correlationId: string): ConnectionTrace {
  return isTracingEnabled() ? new RecordingConnectionTrace(info, correlationId) : NOOP;
}
