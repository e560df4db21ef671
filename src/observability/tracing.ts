/**
 * The OpenTelemetry SDK set-up, loaded before the app (src/observability/register.ts).
 *
 * It honours the standard variables: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_TRACES_EXPORTER (otlp | console | none), OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT,
 * OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (http/protobuf | http/json | grpc),
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG and
 * OTEL_BSP_* — read by the SDK itself, as the specification expects.
 *
 * One deliberate difference from the SDK's defaults: with neither
 * OTEL_TRACES_EXPORTER nor an OTLP endpoint set, nothing is registered at all.
 * The API then hands out non-recording spans and Tether's own instrumentation
 * short-circuits (see `isTracingEnabled`), so tracing off costs close to nothing
 * instead of exporting into a collector that is not there.
 *
 * The SDK's modules are imported only when tracing is on: with it off (the default) a start
 * does not load them (about 0.1–0.2 s of CPU, issue 13: a restart under a reconnect storm).
 *
 * We use NodeTracerProvider rather than NodeSDK so that our correlation-ID span
 * processor runs in front of whatever exporters the environment picks (NodeSDK
 * replaces its environment exporters as soon as any processor is given).
 */
import { type DiagLogger, DiagLogLevel, diag, ProxyTracerProvider, trace } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PACKAGE_VERSION } from '../config/package-root.ts';
import { importOptional } from '../shared/optional-import.ts';
import { CorrelationIdSpanProcessor } from './correlation-span-processor.ts';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface ExporterChoice {
  /** Exporters to build, in order; empty = tracing off. */
  exporters: ('otlp' | 'console')[];
  protocol: OtlpProtocol;
  /** Values we could not honour, for a warning. */
  ignored: string[];
}

/** Which exporters the environment asks for (pure, so it can be unit-tested). */
export function chooseExporters(env: NodeJS.ProcessEnv): ExporterChoice {
  const rawProtocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || '';
  const ignored: string[] = [];
  let protocol: OtlpProtocol = 'http/protobuf'; // the OTLP specification's default
  if (rawProtocol === 'http/json' || rawProtocol === 'grpc' || rawProtocol === 'http/protobuf')
    protocol = rawProtocol;
  else if (rawProtocol) ignored.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${rawProtocol}`);
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { exporters: [], protocol, ignored };

  const listed = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (listed.length === 0) {
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
    return { exporters: endpoint ? ['otlp'] : [], protocol, ignored };
  }
  if (listed.includes('none')) return { exporters: [], protocol, ignored };
  const exporters: ExporterChoice['exporters'] = [];
  for (const name of new Set(listed)) {
    if (name === 'otlp' || name === 'console') exporters.push(name);
    else ignored.push(`OTEL_TRACES_EXPORTER=${name}`);
  }
  return { exporters, protocol, ignored };
}

export interface TracingOptions {
  /**
   * Span processors to use instead of the environment's exporters (tests pass an
   * in-memory exporter here). The correlation-ID processor always runs first.
   */
  spanProcessors?: SpanProcessor[];
  /** @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** true when a tracer provider was registered. */
  readonly enabled: boolean;
  readonly exporters: readonly string[];
  /**
   * OTEL_* values it could not honour (`OTEL_TRACES_EXPORTER=jaeger`): tracing starts before
   * the process has a logger (src/observability/register.ts), so the process logs them.
   */
  readonly ignored: readonly string[];
  /** Export what is buffered (e.g. before a test looks at the receiver). */
  forceFlush(): Promise<void>;
  /** Flush and stop; idempotent. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = {
  enabled: false,
  exporters: [],
  ignored: [],
  forceFlush: async () => {},
  shutdown: async () => {},
};

let current: Tracing | undefined;

/** Register the tracer provider once per process; later calls return the first result. */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing> {
  if (current) return current;
  const env = options.env ?? process.env;
  const choice = chooseExporters(env);
  const processors = options.spanProcessors ?? (await processorsFor(choice));
  if (processors.length === 0) {
    current = { ...OFF, ignored: choice.ignored };
    return current;
  }
  const [
    { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes },
    { NodeTracerProvider },
    { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION },
  ] = await Promise.all([
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const provider = new NodeTracerProvider({
    resource: defaultResource()
      .merge(
        resourceFromAttributes({
          [ATTR_SERVICE_NAME]: 'tether',
          [ATTR_SERVICE_VERSION]: PACKAGE_VERSION,
        }),
      )
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over our defaults.
      .merge(detectResources({ detectors: [hostDetector, processDetector, envDetector] })),
    spanProcessors: [new CorrelationIdSpanProcessor(), ...processors],
    // The sampler is read from OTEL_TRACES_SAMPLER / _ARG (default parentbased_always_on).
  });
  // AsyncLocalStorage context manager + W3C tracecontext and baggage propagators.
  provider.register();
  let stopped: Promise<void> | undefined;
  current = {
    enabled: true,
    exporters: options.spanProcessors ? ['custom'] : choice.exporters,
    ignored: choice.ignored,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => {
      stopped ??= provider.shutdown().catch((error) => diag.error('tether tracing: shutdown failed', error));
      return stopped;
    },
  };
  return current;
}

/** The tracing started in this process, if any. */
export function activeTracing(): Tracing {
  return current ?? OFF;
}

/**
 * Whether spans would be recorded: true once any tracer provider is registered
 * (ours, or one the embedding application set up itself). Checked once per
 * connection, so Tether's instrumentation can skip all work when tracing is off.
 */
export function isTracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('tether') !== undefined;
}

type DiagLevel = 'warn' | 'error';

/** The SDK's warnings raised before routeDiagnostics (an exporter reads OTEL_* as it is built). */
let held: [level: DiagLevel, message: string, args: unknown[]][] | undefined;
/** Past this many, held warnings are counted, not kept: a misconfigured exporter may repeat one. */
const HELD_MAX = 50;
let heldDropped = 0;

/** Take the SDK's warnings and errors (its info and debug lines are dropped) with `take`. */
function takeDiagnostics(take: (level: DiagLevel, message: string, args: unknown[]) => void): void {
  const noop = () => {};
  const sink: DiagLogger = {
    error: (message, ...args) => take('error', message, args),
    warn: (message, ...args) => take('warn', message, args),
    info: noop,
    debug: noop,
    verbose: noop,
  };
  diag.setLogger(sink, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

/**
 * Keep the SDK's warnings until routeDiagnostics logs them: tracing starts before the process
 * has a logger (src/observability/register.ts), and a warning then (an OTLP endpoint that is
 * not a URL, an invalid timeout) would otherwise go nowhere.
 */
export function holdDiagnostics(): void {
  held = [];
  heldDropped = 0;
  takeDiagnostics((level, message, args) => {
    if (!held) return;
    if (held.length < HELD_MAX) held.push([level, message, args]);
    else heldDropped++;
  });
}

/** Send the SDK's own warnings (e.g. an exporter that cannot connect) to our logger, held ones first. */
export function routeDiagnostics(logger: {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}): void {
  const write = (level: DiagLevel, message: string, args: unknown[]) =>
    logger[level]({ otel: args.length ? args.map(String) : undefined }, `otel: ${message}`);
  takeDiagnostics(write);
  for (const [level, message, args] of held ?? []) write(level, message, args);
  if (heldDropped > 0)
    logger.warn(
      { dropped: heldDropped },
      `otel: ${heldDropped} more warnings came before logging started; only the first ${HELD_MAX} were kept`,
    );
  held = undefined;
  heldDropped = 0;
}

async function processorsFor(choice: ExporterChoice): Promise<SpanProcessor[]> {
  const processors: SpanProcessor[] = [];
  if (choice.exporters.length === 0) return processors;
  const { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor } = await import(
    '@opentelemetry/sdk-trace-base'
  );
  for (const name of choice.exporters) {
    if (name === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    else processors.push(new BatchSpanProcessor(await otlpExporter(choice.protocol))); // OTEL_BSP_* apply
  }
  return processors;
}

/**
 * Loaded on demand. The gRPC exporter pulls in @grpc/grpc-js, which most set-ups never
 * need: it is an optional package, installed by whoever sets the grpc protocol.
 */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'grpc': {
      const grpc = await importOptional(
        () => import('@opentelemetry/exporter-trace-otlp-grpc'),
        '@opentelemetry/exporter-trace-otlp-grpc@^0.223.1',
        'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
      );
      return new grpc.OTLPTraceExporter();
    }
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}
