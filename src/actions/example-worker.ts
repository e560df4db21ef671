/**
 * `npm run worker`: an example backend worker for client actions. Point it at the
 * gateway's Redis (REDIS_URL, REDIS_PREFIX, ACTION_QUEUE_SHARDS when set) and send, from a client:
 *   {"type":"action","ref":"a1","name":"echo","data":{"hello":"world"}}
 *
 * With OTEL_* set (e.g. OTEL_SERVICE_NAME=tether-worker
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318) its `process actions` spans
 * join the gateway's traces. On SIGINT/SIGTERM it stops taking jobs, lets the
 * running ones finish, then flushes its last batch of spans before exiting.
 */
// Tracing from OTEL_* first, so the worker's spans join the gateway's traces.
import '../observability/register.ts';
import closeWithGrace from 'close-with-grace';
import { activeTracing, routeDiagnostics } from '../observability/tracing.ts';
import { startActionWorker } from './action-worker.ts';

// register.ts holds OpenTelemetry's own warnings until a process routes them: this one has no
// logger, so to stderr, with the OTEL_* values tracing ignored (main.ts logs both).
const say = (level: string) => (fields: object, message: string) =>
  process.stderr.write(`tether example worker: ${level} ${message} ${JSON.stringify(fields)}\n`);
routeDiagnostics({ warn: say('warn'), error: say('error') });
const { ignored } = activeTracing();
if (ignored.length > 0) say('warn')({ ignored }, 'tracing: ignoring unsupported values');

const DEFAULT_WORKER_REDIS_URL = 'redis://127.0.0.1:6379';

const worker = startActionWorker({
  redisUrl: process.env.REDIS_URL ?? DEFAULT_WORKER_REDIS_URL,
  prefix: process.env.REDIS_PREFIX ?? 'tether',
  queueShards: process.env.ACTION_QUEUE_SHARDS ? Number(process.env.ACTION_QUEUE_SHARDS) : undefined,
  handlers: {
    echo: (data) => data,
    sum: (data) => (Array.isArray(data) ? data.reduce((total: number, n) => total + Number(n), 0) : 0),
    'time.now': () => ({ now: new Date().toISOString() }),
    fail: () => {
      throw new Error('this action always fails (by design, for trying error replies)');
    },
  },
});
process.stderr.write('tether example worker: handling echo, sum, time.now, fail\n');

// Like main.ts: on SIGINT/SIGTERM (or a crash) stop taking jobs, let running ones finish,
// then flush the batch span processor, which holds spans for up to OTEL_BSP_SCHEDULE_DELAY.
closeWithGrace({ delay: 10_000, logger: false }, async ({ err }) => {
  if (err) process.stderr.write(`tether example worker: ${err.stack ?? err.message}\n`);
  await worker.close();
  await activeTracing().shutdown();
});
