/**
 * Starts tracing from the OTEL_* variables before the application loads.
 * src/main.ts imports it first; any other entry point (a backend worker, a
 * script) can do the same, or run with `node --import tsx --import ./src/observability/register.ts`.
 */
import { startTracing } from './tracing.ts';

export const tracing = await startTracing();
