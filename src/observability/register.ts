/**
 * Starts tracing from the OTEL_* variables before the application runs.
 * src/main.ts and the example worker import it first. Its top-level await
 * finishes before their own code runs, though the modules imported after it may
 * already be evaluated while it waits (ES module semantics); Tether's
 * instrumentation only looks at the provider when it makes a span, so that is
 * enough for it. Instrumentation that patches modules as they load needs this
 * file loaded before the application's module graph:
 * `node --import tsx --import ./src/observability/register.ts src/main.ts`.
 */
import { holdDiagnostics, startTracing } from './tracing.ts';

holdDiagnostics(); // until the process routes them to its logger (routeDiagnostics)
export const tracing = await startTracing();
