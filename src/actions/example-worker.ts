/**
 * `npm run worker`: an example backend worker for client actions. Point it at the
 * gateway's Redis (REDIS_URL, REDIS_PREFIX) and send, from a client:
 *   {"type":"action","ref":"a1","name":"echo","data":{"hello":"world"}}
 */
// Tracing from OTEL_* first, so the worker's spans join the gateway's traces.
import '../observability/register.ts';
import { startActionWorker } from './action-worker.ts';

const worker = startActionWorker({
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.REDIS_PREFIX ?? 'tether',
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
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void worker.close());
