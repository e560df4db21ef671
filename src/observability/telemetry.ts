/**
 * The core's Telemetry port (src/core/ports/telemetry.ts) over OpenTelemetry and
 * pino: one per gateway. It also keeps each open socket's trace by connection ID,
 * for the observer, which drives the spans that follow the actor's states.
 */
import type { Logger } from 'pino';
import type {
  ConnectionLogger,
  ConnectionTrace,
  ConnectionTraceInfo,
  Telemetry,
} from '../core/ports/telemetry.ts';
import {
  type ClientTraceContext,
  connectionTrace,
  type ObservedConnectionTrace,
} from './connection-trace.ts';
import { LazyConnectionLogger } from './logger.ts';
import { sampledTraceparent } from './trace-context.ts';
import { isTracingEnabled } from './tracing.ts';

export class GatewayTelemetry implements Telemetry {
  private readonly traces = new Map<string, ObservedConnectionTrace>();
  /** Each trace handed to the core, as the observed object it is. */
  private readonly observed = new WeakMap<ConnectionTrace, ObservedConnectionTrace>();
  private readonly tracing = isTracingEnabled();

  constructor(
    private readonly logger: Logger,
    /** TRACE_CLIENT_CONTEXT: what a client's trace context does. */
    private readonly clientContext: ClientTraceContext,
  ) {}

  connectionTrace(info: ConnectionTraceInfo, correlationId: string): ConnectionTrace {
    const trace = connectionTrace(info, correlationId, this.clientContext, this.tracing);
    this.observed.set(trace, trace);
    return trace;
  }

  /**
   * Kept by ID from the open, not from the upgrade: only a socket that opened is forgotten (on
   * its close), so one kept earlier for an upgrade the edge then refused stayed for good — a
   * map growing with every malformed handshake anyone sent.
   */
  socketOpened(connectionId: string, trace: ConnectionTrace): void {
    const observed = this.observed.get(trace);
    if (this.tracing && observed) this.traces.set(connectionId, observed);
  }

  /** The trace of an open socket (undefined when not tracing or once it closed). */
  traceOf(connectionId: string): ObservedConnectionTrace | undefined {
    return this.traces.get(connectionId);
  }

  /** The socket closed: its trace is no longer looked up by ID (its actor keeps it). */
  forget(connectionId: string): void {
    this.traces.delete(connectionId);
  }

  connectionLogger(bindings: Record<string, string | undefined>, trace: ConnectionTrace): ConnectionLogger {
    return new LazyConnectionLogger(this.logger, bindings, () => this.observed.get(trace)?.spanContext);
  }

  sampledTraceparent(): string | undefined {
    return sampledTraceparent();
  }
}
