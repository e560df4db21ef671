/**
 * What the core tells observability (src/observability/) about a connection, as
 * facts — "a resume began", "this action is being submitted" — so span names,
 * attributes and metrics live in one place there. Spans that follow the
 * connection machine's states (handshake, admission) are opened and closed by
 * observability from the actor's transitions, not by the core.
 */
import type { Transport } from './edge-socket.ts';

export interface ConnectionTraceInfo {
  connectionId: string;
  transport: Transport;
  /** The request's path (the transport's endpoint). */
  path: string;
  /** The socket's direct peer: a proxy, when there is one. */
  peerAddress: string;
  /** The client behind a trusted proxy's X-Forwarded-For. */
  clientAddress: string;
  /** The client's scheme (`https`…) from a trusted proxy; none when it connected directly. */
  scheme?: string;
  userAgent?: string;
  /** The upgrade request's `traceparent` header, if any (it wins over hello's). */
  traceparent?: string;
  tracestate?: string;
}

/** The resume of a session: from re-attaching it until its replay ends. */
export interface ResumeTrace {
  /** How the resume went, once welcome is decided. */
  settled(result: 'resumed' | 'expired' | 'rejected', recovered: boolean): void;
  /** The replay ended: `replayed` events were sent from the log. */
  finished(replayed: number): void;
  failed(error: unknown): void;
}

export interface ConnectionTrace {
  /** hello arrived: the connection's trace starts (a client's trace context is considered). */
  helloReceived(correlationId: string, traceparent?: string, tracestate?: string): void;
  /** A session resume begins (inside the handshake). */
  resumeBegan(sessionId: string): ResumeTrace;
  /** Run the submission of an action in its own span, so the queue and worker join this trace. */
  action<T>(name: string, ref: string, submit: () => Promise<T>): Promise<T>;
  /** A point in the connection's life (a state transition, an error). */
  event(name: string, attributes?: Record<string, string | number | boolean>): void;
  /** The socket closed: what is still open ends. */
  closed(closeCode: number, reason: string | undefined): void;
}

/** The lines a connection logs (pino's methods, as the core calls them). */
export interface ConnectionLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface Telemetry {
  /**
   * The trace of a connection whose socket is being upgraded (a shared no-op when tracing is
   * off). Nothing keeps it until `socketOpened`: an upgrade the edge refuses after the handler
   * made its connection (a malformed handshake on the portable edge) leaves nothing behind.
   */
  connectionTrace(info: ConnectionTraceInfo, correlationId: string): ConnectionTrace;
  /** The connection's socket opened: its trace is found by its ID until the socket closes. */
  socketOpened(connectionId: string, trace: ConnectionTrace): void;
  /**
   * A logger for one connection's lines: its IDs on each, and its trace's IDs when
   * no span is active. Built per use (connections log lifecycle, not traffic).
   */
  connectionLogger(bindings: Record<string, string | undefined>, trace: ConnectionTrace): ConnectionLogger;
  /** The active span's `traceparent` when it is sampled (stored with an event, so delivery joins it). */
  sampledTraceparent(): string | undefined;
}
