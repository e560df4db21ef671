/**
 * The trace of one socket. Span tree (names and attributes: docs/observability.md):
 *
 *   ws.connection (SERVER)   upgrade → socket close; actor transitions and errors as events
 *   ├─ ws.upgrade            upgrade → welcome: the time until the client could use it
 *   │  └─ ws.handshake       hello → welcome (token check, limits)
 *   │     ├─ ws.admission    the pool's decision, including any wait in the queue
 *   │     └─ session.resume  re-attaching a session and replaying what it missed
 *   └─ ws.action …           work the connection started later (src/core/actions.ts)
 *
 * `ws.handshake` opens with hello; it and `ws.admission` follow the connection
 * machine's states: the observer (gateway-observer.ts) ends them, and opens
 * `ws.admission`, from the actor's transitions.
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
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ConnectionTrace, ConnectionTraceInfo, ResumeTrace } from '../core/ports/telemetry.ts';
import { type ErrorCode, errorSpec, isErrorCode } from '../shared/errors.ts';
import { metrics } from './metrics.ts';
import {
  ATTR_ACTION_NAME,
  ATTR_ACTION_REF,
  ATTR_ADMISSION_PRIORITY,
  ATTR_ADMISSION_RESULT,
  ATTR_ADMISSION_WAIT_MS,
  ATTR_CLIENT_ADDRESS,
  ATTR_CLOSE_CODE,
  ATTR_CLOSE_REASON,
  ATTR_CONNECTION_ID,
  ATTR_CORRELATION_ID,
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_RECOVERED,
  ATTR_REPLAYED,
  ATTR_RESUME_RESULT,
  ATTR_RESUMED,
  ATTR_SESSION_ID,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from './span-attributes.ts';
import { contextFromTraceparent, SpanKind, tracer, withCorrelationId, withSpan } from './trace-context.ts';

/**
 * What a client's trace context does (TRACE_CLIENT_CONTEXT): `link` starts a new
 * trace linked to it, `continue` joins it (and its sampling decision).
 */
export type ClientTraceContext = 'link' | 'continue';

export type AdmissionOutcome = 'granted' | 'admitted' | 'refused' | 'timeout' | 'left';

/** The port, plus what the observer drives from the actor's transitions. */
export interface ObservedConnectionTrace extends ConnectionTrace {
  /** The `ws.connection` span's IDs once started (for log lines outside any span). */
  readonly spanContext: SpanContext | undefined;
  /** The pool is asked for a slot (`connecting.handshake.admitting`). */
  admissionBegan(priority: number): void;
  /** The pool put the connection in line (`connecting.queued`). */
  admissionQueued(): void;
  admissionEnded(outcome: AdmissionOutcome, waitedMs: number): void;
  /** The handshake states are left: welcome was sent (`attributes` describe the session), or not. */
  handshakeEnded(welcomed: boolean, attributes: Attributes): void;
}

/** Ends on purpose, not for a fault: a drain, the backend's disconnect (docs/errors.md). */
const DELIBERATE_ENDS: ReadonlySet<ErrorCode> = new Set([
  'SERVICE_RESTART',
  'DISCONNECTED_BY_SERVER',
  'SESSION_CLOSED_BY_SERVER',
]);

/**
 * What a close's registry code says of `ws.connection`: `error.type` for every fault, and an
 * ERROR status unless the client's own (category `client`: a frame too large, too many
 * errors, a rate passed) — as the semantic conventions leave a server span's status unset
 * for a 4xx. A refused token, a slow consumer (`connection`) and our faults (`system`) are errors.
 */
function closeFault(reason: string | undefined): { code: ErrorCode; isError: boolean } | undefined {
  if (!reason || !isErrorCode(reason) || DELIBERATE_ENDS.has(reason)) return undefined;
  return { code: reason, isError: errorSpec(reason).category !== 'client' };
}

/** Events kept from before hello or after close (the SDK's own limit applies to spans). */
const MAX_PENDING_EVENTS = 32;

type PendingEvent = [name: string, attributes: Attributes | undefined, at: number];

class RecordingConnectionTrace implements ObservedConnectionTrace {
  /** performance.now() at the upgrade: span times given as numbers below the time origin are read this way. */
  private readonly openedAt = performance.now();
  private connection: Span | undefined;
  private upgrade: Span | undefined;
  private handshake: Span | undefined;
  private admission: Span | undefined;
  private root: Context = ROOT_CONTEXT;
  private pending: PendingEvent[] = [];
  private finished = false;

  constructor(
    private readonly info: ConnectionTraceInfo,
    private correlationId: string,
    private readonly clientContext: ClientTraceContext,
  ) {}

  get spanContext(): SpanContext | undefined {
    return this.connection?.spanContext();
  }

  helloReceived(correlationId: string, helloTraceparent?: string, helloTracestate?: string): void {
    if (this.connection) return;
    this.correlationId = correlationId;
    this.open(helloTraceparent, helloTracestate);
    this.handshake = tracer.startSpan(
      'ws.handshake',
      { attributes: { [ATTR_CORRELATION_ID]: correlationId } },
      this.upgradeContext(),
    );
  }

  resumeBegan(sessionId: string): ResumeTrace {
    const span = tracer.startSpan(
      'session.resume',
      { attributes: { [ATTR_CORRELATION_ID]: this.correlationId, [ATTR_SESSION_ID]: sessionId } },
      this.handshakeContext(),
    );
    return {
      settled: (result, recovered) =>
        span.setAttributes({
          [ATTR_RESUMED]: result === 'resumed',
          [ATTR_RECOVERED]: recovered,
          [ATTR_RESUME_RESULT]: result,
        }),
      finished: (replayed) => {
        span.setAttribute(ATTR_REPLAYED, replayed);
        span.end();
      },
      failed: (error) => {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }

  action<T>(name: string, ref: string, submit: () => Promise<T>): Promise<T> {
    metrics.actionsSubmitted.inc();
    return withSpan(
      'ws.action',
      {
        kind: SpanKind.PRODUCER,
        parent: this.parentForChild(),
        attributes: {
          [ATTR_CORRELATION_ID]: this.correlationId,
          [ATTR_ACTION_NAME]: name,
          [ATTR_ACTION_REF]: ref,
          [ATTR_MESSAGING_SYSTEM]: 'bullmq',
          [ATTR_MESSAGING_DESTINATION_NAME]: 'actions',
          [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
        },
      },
      submit,
    );
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

  admissionBegan(priority: number): void {
    this.admission = tracer.startSpan(
      'ws.admission',
      { attributes: { [ATTR_CORRELATION_ID]: this.correlationId, [ATTR_ADMISSION_PRIORITY]: priority } },
      this.handshakeContext(),
    );
  }

  admissionQueued(): void {
    this.admission?.addEvent('admission.queued');
  }

  admissionEnded(outcome: AdmissionOutcome, waitedMs: number): void {
    const span = this.admission;
    if (!span) return;
    this.admission = undefined;
    span.setAttributes({ [ATTR_ADMISSION_RESULT]: outcome, [ATTR_ADMISSION_WAIT_MS]: Math.round(waitedMs) });
    if (outcome === 'refused' || outcome === 'timeout')
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    span.end();
  }

  handshakeEnded(welcomed: boolean, attributes: Attributes): void {
    this.handshake?.setAttributes(attributes);
    this.handshake?.end();
    this.handshake = undefined;
    if (!welcomed) return;
    this.connection?.setAttributes(attributes);
    this.upgrade?.end(); // welcome was sent: the connection is usable
    this.upgrade = undefined;
  }

  closed(closeCode: number, reason: string | undefined): void {
    if (this.finished) return;
    if (!this.connection) this.open();
    const span = this.connection as Span;
    const attributes = { [ATTR_CLOSE_CODE]: closeCode, ...(reason ? { [ATTR_CLOSE_REASON]: reason } : {}) };
    span.addEvent('ws.closed', attributes);
    span.setAttributes(attributes);
    const fault = closeFault(reason);
    if (fault) {
      span.setAttribute(ATTR_ERROR_TYPE, fault.code);
      if (fault.isError) span.setStatus({ code: SpanStatusCode.ERROR, message: fault.code });
    }
    this.admission?.end();
    this.handshake?.end();
    if (this.upgrade) {
      // Closed before welcome: the connection never became usable.
      const why = reason && reason !== 'bye' ? reason : `closed ${closeCode} before welcome`;
      this.upgrade.setAttribute(ATTR_ERROR_TYPE, why);
      this.upgrade.setStatus({ code: SpanStatusCode.ERROR, message: why });
      this.upgrade.end();
      this.upgrade = undefined;
    }
    span.end();
    this.finished = true;
  }

  /** Start `ws.connection` and `ws.upgrade`, back-dated to the upgrade. */
  private open(helloTraceparent?: string, helloTracestate?: string): void {
    const fromHeader = this.info.traceparent !== undefined;
    const client = contextFromTraceparent(
      fromHeader ? this.info.traceparent : helloTraceparent,
      ROOT_CONTEXT,
      fromHeader ? this.info.tracestate : helloTracestate,
    );
    const clientSpan = trace.getSpanContext(client);
    const continued = this.clientContext === 'continue';
    const parent = withCorrelationId(continued ? client : ROOT_CONTEXT, this.correlationId);
    this.connection = tracer.startSpan(
      'ws.connection',
      {
        kind: SpanKind.SERVER,
        startTime: this.openedAt,
        links: !continued && clientSpan ? [{ context: clientSpan }] : undefined,
        attributes: {
          [ATTR_CORRELATION_ID]: this.correlationId,
          [ATTR_CONNECTION_ID]: this.info.connectionId,
          [ATTR_NETWORK_PEER_ADDRESS]: this.info.peerAddress,
          [ATTR_CLIENT_ADDRESS]: this.info.clientAddress,
          ...(this.info.userAgent ? { [ATTR_USER_AGENT_ORIGINAL]: this.info.userAgent } : {}),
          // An SSE stream is a long HTTP response (its frames come as POSTs): its protocol is http.
          [ATTR_NETWORK_PROTOCOL_NAME]: this.info.transport === 'sse' ? 'http' : 'websocket',
          [ATTR_URL_PATH]: this.info.path,
          // Tether terminates no TLS: `http` unless a trusted proxy says the client used another.
          [ATTR_URL_SCHEME]: this.info.scheme ?? 'http',
        },
      },
      parent,
    );
    this.root = trace.setSpan(parent, this.connection);
    this.upgrade = tracer.startSpan(
      'ws.upgrade',
      { startTime: this.openedAt, attributes: { [ATTR_CORRELATION_ID]: this.correlationId } },
      this.root,
    );
    for (const [name, attributes, at] of this.pending) this.connection.addEvent(name, attributes, at);
    this.pending = [];
  }

  private upgradeContext(): Context {
    return this.upgrade ? trace.setSpan(this.root, this.upgrade) : this.root;
  }

  private handshakeContext(): Context {
    return this.handshake ? trace.setSpan(this.upgradeContext(), this.handshake) : this.upgradeContext();
  }

  /** The active span when it is one of ours (nesting inside ws.handshake), else ours. */
  private parentForChild(): Context {
    const active = context.active();
    const activeTrace = trace.getSpanContext(active)?.traceId;
    return activeTrace !== undefined && activeTrace === this.connection?.spanContext().traceId
      ? active
      : this.upgradeContext();
  }
}

const NOOP: ObservedConnectionTrace = {
  spanContext: undefined,
  helloReceived: () => {},
  resumeBegan: () => NOOP_RESUME,
  action: (_name, _ref, submit) => {
    metrics.actionsSubmitted.inc();
    return submit();
  },
  event: () => {},
  admissionBegan: () => {},
  admissionQueued: () => {},
  admissionEnded: () => {},
  handshakeEnded: () => {},
  closed: () => {},
};

const NOOP_RESUME: ResumeTrace = { settled: () => {}, finished: () => {}, failed: () => {} };

/** The trace of a socket that was just upgraded; a shared no-op when tracing is off. */
export function connectionTrace(
  info: ConnectionTraceInfo,
  correlationId: string,
  clientContext: ClientTraceContext,
  tracing: boolean,
): ObservedConnectionTrace {
  return tracing ? new RecordingConnectionTrace(info, correlationId, clientContext) : NOOP;
}
