/**
 * What a Redis outage, and a normal shutdown, leave in the logs (src/observability/outage-log.ts):
 * an outage is one warn line when it begins and one info line, with how long it lasted,
 * when it ends — not a line for each reconnect attempt of ioredis and each error BullMQ
 * reports meanwhile. A shutdown closes its Redis connections on purpose: no warn about it.
 * The Redis here is this test's own, killed and started again on its port.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startActionWorker } from '../../src/actions/action-worker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/embedded-redis.ts';
import { eventually, sleep } from '../support/events.ts';
import { type LoggedGateway, type LogLine, startLoggedGateway } from '../support/logged-gateway.ts';

const WARN = 40;

let redis: RedisServerHandle | undefined;
let gw: LoggedGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  await redis?.stop();
  gw = undefined;
  redis = undefined;
});

const warnings = (lines: LogLine[]) => lines.filter((line) => line.level >= WARN).map((line) => line.msg);

describe('a Redis outage in the logs', () => {
  it('is one warn line when it begins and one info line when it ends, however many reconnects it took', async () => {
    redis = await startRedisServer();
    const { port } = redis;
    gw = await startLoggedGateway({ REDIS_URL: redis.url, LOG_LEVEL: 'debug' });
    const logged = gw;
    const from = logged.lines().length;
    redis.process.kill('SIGKILL');
    // Enough failed reconnects (each an ioredis error, logged at debug) for a flood to show.
    await eventually(
      () =>
        logged
          .lines()
          .slice(from)
          .filter((line) => line.msg === 'redis connection error' && line.client === 'commands').length >= 4,
      'four failed reconnects',
      30_000,
    );
    const warned = warnings(logged.lines().slice(from));
    expect(warned.filter((msg) => msg === 'redis connection lost; reconnecting')).toHaveLength(1);
    // Each source (a BullMQ queue or worker) says so at most once; the rest are counted.
    expect(warned.length).toBe(new Set(warned).size);

    redis = await startRedisServer({ port });
    const restored = await eventually(
      () =>
        logged
          .lines()
          .slice(from)
          .find((line) => line.msg === 'redis connection restored'),
      'redis connection restored',
      30_000,
    );
    expect(restored).toMatchObject({ level: 30, downMs: expect.any(Number) });
  }, 90_000);
});

/** An action worker on `url` whose log lines are kept, counting the errors its BullMQ workers report. */
function loggedWorker(url: string) {
  const lines: LogLine[] = [];
  const logger = createLogger('info', 'worker-test', {
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  const worker = startActionWorker({ redisUrl: url, handlers: {}, logger });
  let errors = 0;
  for (const w of worker.workers) w.on('error', () => errors++);
  return { worker, lines, errors: () => errors };
}

/** Redis back on `port`, and the worker's log saying so. */
async function restartAndSeeRestored(port: number, lines: LogLine[]): Promise<void> {
  redis = await startRedisServer({ port });
  await eventually(() => lines.some((line) => line.msg === 'redis connection restored'), 'restored', 30_000);
}

describe('a Redis outage under an action worker (src/actions/action-worker.ts)', () => {
  it('is one warn line when it begins and one info line when it ends, not a line per failed reconnect', async () => {
    redis = await startRedisServer();
    const { port } = redis;
    const { worker, lines, errors } = loggedWorker(redis.url);
    try {
      await Promise.all(worker.workers.map((w) => w.waitUntilReady()));
      redis.process.kill('SIGKILL');
      await eventually(() => errors() >= 4, 'four worker errors', 30_000);
      // The worker's own (blocking) connection may see Redis go before the client it was made
      // from does; its error is then that source's one line (of at most one per 30 s).
      const warned = warnings(lines);
      const lost = 'redis connection lost; reconnecting';
      expect(warned.filter((msg) => msg === lost)).toHaveLength(1);
      const others = warned.filter((msg) => msg !== lost);
      expect(others).toEqual(others.length > 0 ? ['action worker error'] : []);
      await restartAndSeeRestored(port, lines);
    } finally {
      await worker.close();
    }
  }, 90_000);

  it('started while Redis is down: the same line first, not an error of each part', async () => {
    redis = await startRedisServer();
    const { port, url } = redis;
    await redis.stop();
    const { worker, lines, errors } = loggedWorker(url);
    try {
      await eventually(() => errors() >= 4, 'four worker errors', 30_000);
      expect(warnings(lines)).toEqual(['redis connection lost; reconnecting']);
      await restartAndSeeRestored(port, lines);
    } finally {
      await worker.close();
    }
  }, 90_000);
});

describe('a normal shutdown in the logs', () => {
  it('warns of nothing: its Redis connections are closed on purpose', async () => {
    redis = await startRedisServer();
    gw = await startLoggedGateway({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    const logged = gw;
    const from = logged.lines().length;
    await logged.stop();
    gw = undefined;
    // QUIT is answered before the connection closes: wait until Redis saw every one go.
    const probe = new Redis(redis.url);
    await eventually(
      async () => !String(await probe.client('LIST')).includes('name=tether:'),
      'no gateway connection',
    );
    probe.disconnect();
    await sleep(100); // the gateway's side of the close, a moment after Redis's
    const lines = logged.lines().slice(from);
    expect(lines.map((line) => line.msg)).toContain('stopped');
    expect(warnings(lines)).toEqual([]);
  });
});
